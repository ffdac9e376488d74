/*
 * Entering skiff's user namespace, before the Go runtime starts any thread.
 *
 * setns(2) into a user namespace needs a single-threaded process, and re-executing the whole
 * CLI after newuidmap costs tens of milliseconds, so this runs as an ELF constructor of the skiff
 * binary (only cmd/skiff links it):
 *
 *   root           -> a private mount namespace (mounts made by this process vanish with it)
 *   rootless       -> join the user namespace kept by the user's "skiff-pause" process (one per
 *                     user, mapped once with newuidmap/newgidmap from /etc/subuid and /etc/subgid),
 *                     creating it under a lock when missing, then a private mount namespace
 *   no subid range -> a user namespace of the caller's id alone (warned about once)
 *
 * The process then is uid 0 in the namespace with full capabilities there. Go reads what was
 * done through skiff_ns_*() (os.Getenv would not see setenv from here). Errors print one line
 * and exit 125.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ns_acted;             /* this process entered namespaces */
static int ns_rootless;          /* running for an unprivileged user */
static int ns_single;            /* only the caller's id is mapped */
static int ns_uid = -1, ns_gid = -1;
static char ns_rundir[4096];
static long long ns_t0, ns_t1;    /* CLOCK_MONOTONIC ns around entering, for SKIFF_TRACE */

int skiff_ns_acted(void) { return ns_acted; }
int skiff_ns_rootless(void) { return ns_rootless; }
int skiff_ns_single(void) { return ns_single; }
int skiff_ns_uid(void) { return ns_uid; }
int skiff_ns_gid(void) { return ns_gid; }
const char *skiff_ns_rundir(void) { return ns_rundir; }
long long skiff_ns_t0(void) { return ns_t0; }
long long skiff_ns_t1(void) { return ns_t1; }

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2))) fatal(const char *fmt, ...)
{
	va_list ap;
	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(125);
}

static int in_list(const char *s, const char *const *list)
{
	for (int i = 0; s && list[i]; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

/* command_at returns the index of skiff's subcommand in argv, the first word that is not a
 * global flag or its value; argc when there is none. */
static int command_at(int argc, char **argv)
{
	static const char *const with_value[] = { "--root", "--runroot", "--storage-driver", "--log-level", NULL };
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			return i;
		if (in_list(argv[i], with_value))
			i++;
	}
	return argc;
}

static const char *command(int argc, char **argv)
{
	int i = command_at(argc, argv);
	return i < argc ? argv[i] : NULL;
}

/* Commands that never touch the store (or, like images, only read files of the user's own) run
 * without a namespace, and so does a help or version flag before the command. */
static int needs_namespace(int argc, char **argv)
{
	static const char *const no_ns[] = { "version", "help", "h", "completion", "images", "--version", "-v", "--help", "-h", NULL };
	int c = command_at(argc, argv);
	for (int i = 1; i <= c && i < argc; i++)
		if (in_list(argv[i], no_ns))
			return 0;
	return c < argc; /* no command: skiff prints its help */
}

static void private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		fatal("create a mount namespace: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		fatal("make mounts private: %s", strerror(errno));
}

static void pick_rundir(uid_t uid)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	if (x && x[0] == '/' && stat(x, &st) == 0 && st.st_uid == uid && access(x, W_OK) == 0)
		snprintf(ns_rundir, sizeof ns_rundir, "%s/skiff", x);
	else
		snprintf(ns_rundir, sizeof ns_rundir, "/tmp/skiff-%u", (unsigned)uid);
	if (mkdir(ns_rundir, 0700) < 0 && errno != EEXIST)
		fatal("create run directory %s: %s", ns_rundir, strerror(errno));
	if (lstat(ns_rundir, &st) < 0)
		fatal("run directory %s: %s", ns_rundir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022))
		fatal("run directory %s is not a private directory of uid %u: remove it or set XDG_RUNTIME_DIR", ns_rundir,
		      (unsigned)uid);
}

/* user_name finds uid's name in /etc/passwd. skiff is linked statically, and glibc's
 * getpwuid_r would then load NSS modules at run time; a user known only to a directory service
 * is found by $USER instead (newuidmap matches /etc/subuid by name or by uid). */
static int user_name(uid_t uid, char *out, size_t n)
{
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return -1;
	char line[1024];
	int found = -1;
	while (found < 0 && fgets(line, sizeof line, f)) {
		/* name:password:uid:... (the password field may be empty) */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *end;
		if (!c2 || c1 == line)
			continue;
		*c1 = '\0';
		unsigned long id = strtoul(c2 + 1, &end, 10);
		if (end != c2 + 1 && *end == ':' && id == uid && snprintf(out, n, "%s", line) < (int)n)
			found = 0;
	}
	fclose(f);
	return found;
}

struct range { unsigned long start, count; };

/* subids reads the ranges of user (by name or uid) from /etc/subuid or /etc/subgid. */
static int subids(const char *file, const char *name, unsigned id, struct range *r, int max)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return 0;
	char line[512], idstr[32];
	int n = 0;
	snprintf(idstr, sizeof idstr, "%u", id);
	while (n < max && fgets(line, sizeof line, f)) {
		char *save = NULL, *who = strtok_r(line, ":\n", &save);
		char *s = strtok_r(NULL, ":\n", &save), *c = strtok_r(NULL, ":\n", &save);
		if (!who || !s || !c)
			continue;
		if (strcmp(who, idstr) && (!name || strcmp(who, name)))
			continue;
		r[n].start = strtoul(s, NULL, 10);
		r[n].count = strtoul(c, NULL, 10);
		if (r[n].count > 0)
			n++;
	}
	fclose(f);
	/* overlapping or touching ranges (useradd allocates one, a script appends another) are
	 * merged: the kernel refuses overlapping maps, and newuidmap accepts a range that spans
	 * several of the user's entries */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && r[j].start < r[j - 1].start; j--) {
			struct range t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m > 0 && r[i].start <= r[m - 1].start + r[m - 1].count) {
			unsigned long end = r[i].start + r[i].count;
			if (end > r[m - 1].start + r[m - 1].count)
				r[m - 1].count = end - r[m - 1].start;
			continue;
		}
		r[m++] = r[i];
	}
	return m;
}

static const char *find_tool(const char *name)
{
	static char path[256];
	static const char *dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", NULL };
	for (int i = 0; dirs[i]; i++) {
		snprintf(path, sizeof path, "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* run_map runs newuidmap/newgidmap PID 0 ID 1 1 START COUNT ... and waits for it. */
static int run_map(const char *tool, pid_t pid, unsigned id, struct range *r, int n, char *err, size_t errlen)
{
	const char *path = find_tool(tool);
	if (!path) {
		snprintf(err, errlen, "%s not found: install the uidmap package (apt-get install uidmap)", tool);
		return -1;
	}
	char buf[16][32];
	char *argv[40];
	int a = 0, b = 0;
	argv[a++] = (char *)tool;
	snprintf(buf[b], 32, "%d", (int)pid); argv[a++] = buf[b++];
	argv[a++] = "0";
	snprintf(buf[b], 32, "%u", id); argv[a++] = buf[b++];
	argv[a++] = "1";
	unsigned long next = 1;
	for (int i = 0; i < n && b < 14; i++) {
		snprintf(buf[b], 32, "%lu", next); argv[a++] = buf[b++];
		snprintf(buf[b], 32, "%lu", r[i].start); argv[a++] = buf[b++];
		if (b >= 16)
			break;
		snprintf(buf[b], 32, "%lu", r[i].count); argv[a++] = buf[b++];
		next += r[i].count;
		if (b >= 14)
			break;
	}
	argv[a] = NULL;
	pid_t p = fork();
	if (p < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (p == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execv(path, argv);
		_exit(127);
	}
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen,
		         "%s failed for the ranges in /etc/sub%cid: check that they belong to this user and that %s is setuid root",
		         tool, tool[3] == 'u' ? 'u' : 'g', path);
		return -1;
	}
	return 0;
}

/* join_pause enters the user namespace of the running skiff-pause process, if there is one. */
static int join_pause(void)
{
	char path[4200], buf[64];
	snprintf(path, sizeof path, "%s/pause.pid", ns_rundir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	int pid = atoi(buf);
	if (pid <= 1)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -1;
	/* the pid may have been reused since, or the process may be a zombie nobody reaped (its
	 * namespace still exists then, but nothing keeps it): it must be our live pause process */
	char stat[256];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0)
		stat[n] = '\0';
	const char *end = n > 0 ? strrchr(stat, ')') : NULL;
	if (!end || !strstr(stat, "(skiff-pause)") || end[1] != ' ' || end[2] == 'Z' || end[2] == 'X') {
		close(nsfd);
		return -1;
	}
	int r = setns(nsfd, CLONE_NEWUSER);
	close(nsfd);
	return r;
}

/* start_pause makes the user's pause process: a child that unshares a user namespace, is
 * mapped by newuidmap/newgidmap from here, and then sleeps holding it. */
static void start_pause(uid_t uid, gid_t gid, struct range *ur, int nu, struct range *gr, int ng)
{
	int up[2], down[2];
	if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		char c = 0;
		prctl(PR_SET_NAME, "skiff-pause", 0, 0, 0);
		setsid();
		if (unshare(CLONE_NEWUSER) < 0)
			c = 1;
		if (write(up[1], &c, 1) != 1 || c)
			_exit(1);
		if (read(down[0], &c, 1) != 1 || c)
			_exit(1);
		int null = open("/dev/null", O_RDWR);
		for (int i = 0; i < 3; i++)
			dup2(null, i);
		for (int i = 3; i < 1024; i++)
			close(i);
		if (chdir("/") < 0)
			_exit(1);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (;;)
			pause();
	}
	close(up[1]);
	close(down[0]);
	char c = 1, err[600] = "";
	if (read(up[0], &c, 1) != 1 || c) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fatal("create a user namespace: unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=1)");
	}
	if (run_map("newuidmap", pid, uid, ur, nu, err, sizeof err) < 0 ||
	    run_map("newgidmap", pid, gid, gr, ng, err, sizeof err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fatal("%s", err);
	}
	c = 0;
	if (write(down[1], &c, 1) != 1)
		fatal("start the pause process: %s", strerror(errno));
	close(up[0]);
	close(down[1]);
	char path[4200], tmp[4200], buf[32];
	snprintf(path, sizeof path, "%s/pause.pid", ns_rundir);
	snprintf(tmp, sizeof tmp, "%s/pause.pid.%d", ns_rundir, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int len = snprintf(buf, sizeof buf, "%d\n", (int)pid);
	if (fd < 0 || write(fd, buf, len) != len || close(fd) < 0 || rename(tmp, path) < 0)
		fatal("write %s: %s", path, strerror(errno));
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		fatal("write %s: %s", path, strerror(errno));
	close(fd);
}

static void single_id_namespace(uid_t uid, gid_t gid, const char *user)
{
	char marker[4200], map[64];
	if (unshare(CLONE_NEWUSER) < 0)
		fatal("create a user namespace: %s (are unprivileged user namespaces enabled?)", strerror(errno));
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
	ns_single = 1;
	snprintf(marker, sizeof marker, "%s/warned-no-subids", ns_rundir);
	int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		fprintf(stderr,
		        "WARN: no range for %s in /etc/subuid and /etc/subgid: mapping only your own id, so images that "
		        "need other users will fail; as root run: usermod --add-subuids 100000-165535 --add-subgids "
		        "100000-165535 %s\n",
		        user, user);
	}
}

static void rootless(uid_t uid, gid_t gid)
{
	ns_rootless = 1;
	ns_uid = (int)uid;
	ns_gid = (int)gid;
	pick_rundir(uid);
	if (join_pause() == 0)
		goto joined;

	char lock[4200];
	snprintf(lock, sizeof lock, "%s/pause.lock", ns_rundir);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
		fatal("lock %s: %s", lock, strerror(errno));
	if (join_pause() == 0) {
		close(lfd);
		goto joined;
	}
	char namebuf[256] = "";
	const char *name = user_name(uid, namebuf, sizeof namebuf) == 0 ? namebuf : getenv("USER");
	struct range ur[6], gr[6];
	int nu = subids("/etc/subuid", name, uid, ur, 6);
	int ng = subids("/etc/subgid", name, uid, gr, 6);
	if (nu == 0 || ng == 0) {
		close(lfd);
		single_id_namespace(uid, gid, name ? name : "this user");
		goto mapped;
	}
	start_pause(uid, gid, ur, nu, gr, ng);
	if (join_pause() < 0)
		fatal("join the user namespace of the pause process: %s", strerror(errno));
	close(lfd);
joined:
	setgroups(0, NULL); /* host groups are unmapped in here */
mapped:
	private_mounts();
}

/* The lean skiff (cmd/skiff built without containers/image and containers/storage) defines
 * skiff_lean_dispatch; the helpers built from the same command do not. */
extern int skiff_lean_dispatch __attribute__((weak));

/* helper_path finds a helper program as pkg/config's Libexec does: $ENV, beside this binary,
 * ../libexec/skiff/ from it, /usr/local/libexec/skiff, /usr/libexec/skiff. */
static int helper_path(const char *name, const char *env, char *out, size_t n)
{
	const char *e = getenv(env);
	if (e && *e) {
		snprintf(out, n, "%s", e);
		return 0;
	}
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(out, n, "%s/%s", exe, name);
			if (access(out, X_OK) == 0)
				return 0;
			snprintf(out, n, "%s/../libexec/skiff/%s", exe, name);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	const char *dirs[] = { "/usr/local/libexec/skiff", "/usr/libexec/skiff", NULL };
	for (int i = 0; dirs[i]; i++) {
		snprintf(out, n, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* dispatch hands the commands the lean skiff does not implement to their helper before the Go
 * runtime starts: the helper would otherwise be exec'd from Go after the lean binary's own
 * start-up. The namespaces entered here are passed on as package enter does from Go; when the
 * helper is missing, the lean command's stub reports it. */
static void dispatch(int argc, char **argv)
{
	static const char *const to_image[] = { "import", "rmi", "tag", "inspect", "image-inspect", "history", "info",
		"image", "prune", "push", "save", "load", "login", "logout", "seccomp-compile", "system", "cp",
		"build", "image-build", "builder", "commit", "diff", "export", NULL };
	static const char *const to_pull[] = { "pull", NULL };
	if (!&skiff_lean_dispatch || !skiff_lean_dispatch)
		return;
	const char *cmd = command(argc, argv);
	const char *name, *env;
	if (in_list(cmd, to_image)) {
		name = "skiff-image", env = "SKIFF_IMAGE_HELPER";
	} else if (in_list(cmd, to_pull)) {
		name = "skiff-pull", env = "SKIFF_PULL_HELPER";
	} else {
		return;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help"))
			return; /* the lean skiff prints the stub's help */
	char path[4200];
	if (helper_path(name, env, path, sizeof path) < 0)
		return;
	if (ns_acted) {
		char state[4400];
		snprintf(state, sizeof state, "%s %s %d %d \"%s\"", ns_rootless ? "true" : "false",
			ns_single ? "true" : "false", ns_rootless ? ns_uid : 0, ns_rootless ? ns_gid : 0, ns_rundir);
		setenv("_SKIFF_NS_ENTERED", "1", 1);
		setenv("_SKIFF_NS_STATE", state, 1);
		if (ns_rootless) {
			char id[32];
			setenv("_CONTAINERS_USERNS_CONFIGURED", "done", 1);
			snprintf(id, sizeof id, "%d", ns_uid);
			setenv("_CONTAINERS_ROOTLESS_UID", id, 1);
			snprintf(id, sizeof id, "%d", ns_gid);
			setenv("_CONTAINERS_ROOTLESS_GID", id, 1);
		}
	}
	extern char **environ;
	execve(path, argv, environ);
	/* not executable: the Go stub says so */
}

/* process_args finds argc and argv for a constructor. glibc passes them as arguments; musl
 * (the lean skiff is linked with it: its start-up is a millisecond cheaper) passes none, so
 * they are found below the initial environment, where the kernel put them: argc, argv[0..],
 * NULL, envp[0..]. */
static int process_args(int *argc, char ***argv, int cargc, char **cargv)
{
#ifdef __GLIBC__
	*argc = cargc;
	*argv = cargv;
	return 0;
#else
	(void)cargc;
	(void)cargv;
	extern char **environ;
	if (!environ || environ[-1] != NULL)
		return -1;
	for (long n = 0; n < 65536; n++) {
		if ((long)environ[-2 - n] == n) {
			*argc = (int)n;
			*argv = &environ[-1 - n];
			return 0;
		}
	}
	return -1;
#endif
}

/* one_cpu keeps the commands that only read the store and print, and start no process, on the
 * CPU they started on: the Go runtime then sets itself up for one CPU (one P, fewer threads and
 * heap spans), about 0.7 ms of their 9 on a 2-CPU VM. Whatever they would start would inherit
 * the affinity, so run, exec and the helpers' commands are not among them. */
static void one_cpu(int argc, char **argv)
{
	static const char *const readers[] = { "version", "help", "h", "images", "ps", "logs", "wait", "stop", "kill",
		"rm", NULL };
	int c = command_at(argc, argv);
	if (c < argc && !in_list(argv[c], readers))
		return;
	if (c == argc) {
		int flag = 0; /* skiff --version, skiff --help */
		for (int i = 1; i < argc; i++)
			flag |= !strcmp(argv[i], "--version") || !strcmp(argv[i], "-v") || !strcmp(argv[i], "--help") ||
			        !strcmp(argv[i], "-h");
		if (!flag)
			return;
	}
	int cpu = sched_getcpu();
	cpu_set_t set;
	if (cpu < 0 || sched_getaffinity(0, sizeof set, &set) < 0 || !CPU_ISSET(cpu, &set))
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* coarse_timers gives skiff's threads a timer slack of 1 ms. The Go runtime's sysmon thread
 * sleeps 20 us at a time for its first thousand or so microseconds and wakes the CPU each time
 * (some 50 wake-ups, each a context switch that a VM with page-table isolation pays dearly
 * for): about a millisecond of a 7 ms `skiff images` and of a 25 ms `skiff run`. skiff's own
 * waits are 5 ms polls or longer. The caller's slack is kept in TIMERSLACK_ENV for skiff-init,
 * which restores it before a container's command (and skiff-netwait before passt) runs; a
 * skiff started by skiff (skiff-image) finds it there and keeps it. */
#define SKIFF_TIMER_SLACK 1000000
#define TIMERSLACK_ENV "_SKIFF_TIMERSLACK"
static int caller_slack = -1;
int skiff_caller_slack(void) { return caller_slack; } /* for package enter: Go reads its environment from the stack */
static void coarse_timers(void)
{
	if (getenv(TIMERSLACK_ENV))
		return;
	int cur = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (cur < 0 || cur >= SKIFF_TIMER_SLACK)
		return;
	char v[24];
	snprintf(v, sizeof v, "%d", cur);
	if (setenv(TIMERSLACK_ENV, v, 1) == 0 && prctl(PR_SET_TIMERSLACK, SKIFF_TIMER_SLACK, 0, 0, 0) == 0)
		caller_slack = cur;
}

/* join_mounts enters the mount namespace of process pid, a running container's skiff-init:
 * skiff cp's helper copies files as the container sees them. It runs in skiff's namespaces
 * already (the user namespace the container's belongs to), single-threaded as setns(2) needs
 * for a mount namespace; the namespace's root becomes this process's root and cwd. */
static void join_mounts(const char *pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/ns/mnt", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fatal("enter the container's mount namespace (%s): %s: is it still running?", path, strerror(errno));
	if (setns(fd, CLONE_NEWNS) < 0)
		fatal("enter the container's mount namespace: %s", strerror(errno));
	close(fd);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* map_code maps the binary's read-only segments (its code and read-only data, some 7 MB, in
 * the page cache already) into the process at once, before anything runs from them: a command
 * then takes no page fault for each new page of code it reaches. On a VM a fault costs ~11 us,
 * and run --rm reached ~110 such pages; one madvise for all of them costs ~0.2 ms (run --rm
 * 26.5 -> 23.8 ms, images 10.8 -> 8.8 ms in an A/B). On older kernels it is refused, and
 * nothing changes. */
static void map_code(void)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM);
	if (!ph || !n)
		return;
	uintptr_t bias = 0; /* where a position-independent binary was loaded */
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uintptr_t)ph - ph[i].p_vaddr;
	for (unsigned long i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & PF_W))
			continue;
		uintptr_t lo = (bias + ph[i].p_vaddr) & ~(uintptr_t)4095;
		uintptr_t hi = bias + ph[i].p_vaddr + ph[i].p_memsz;
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
	}
}

__attribute__((constructor)) static void skiff_enter(int cargc, char **cargv, char **envp)
{
	(void)envp;
	map_code();
	ns_t0 = ns_t1 = now_ns();
	int argc;
	char **argv;
	if (process_args(&argc, &argv, cargc, cargv) < 0) {
		if (getenv("SKIFF_NO_NAMESPACE"))
			return;
		fatal("cannot find the command line in the process's start-up stack: set SKIFF_NO_NAMESPACE=1 to run without namespaces");
	}
	/* Children skiff re-executes (containers/storage's reexec helpers) inherit the namespaces
	 * with _SKIFF_NS_ENTERED set in their environment by package enter. */
	one_cpu(argc, argv);
	coarse_timers();
	const char *join = getenv("_SKIFF_JOIN_MNT");
	if (join && getenv("_SKIFF_NS_ENTERED"))
		join_mounts(join);
	if (getenv("_SKIFF_NS_ENTERED") || getenv("SKIFF_NO_NAMESPACE") || !needs_namespace(argc, argv))
		return;
	ns_acted = 1;
	uid_t uid = geteuid();
	if (uid == 0)
		private_mounts(); /* root: no user namespace, a private mount namespace */
	else
		rootless(uid, getegid());
	ns_t1 = now_ns();
	dispatch(argc, argv);
}
