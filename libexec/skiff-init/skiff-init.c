/*
 * skiff-init: builds one container from a plan and stays as its PID 1.
 *
 * skiff (Go) resolves everything — image, user, mounts, capabilities, the compiled seccomp
 * program — and starts this program already inside fresh mount, pid, uts, ipc and (usually)
 * net namespaces. This program then does, in the order the kernel needs it:
 *
 *   1. read the plan (fd 3) and the seccomp program
 *   2. make every mount private, open the container's root
 *   3. mounts, each target resolved inside the root (openat2 RESOLVE_IN_ROOT, so an image's
 *      symlinks can never point a mount outside it): /proc, /dev, /dev/pts, /dev/shm,
 *      /dev/mqueue, /sys, /etc files, volumes, tmpfs; masked and read-only paths; read-only root
 *   4. pivot_root into the root and detach the old one
 *   5. hostname, terminal, rlimits, working directory
 *   6. seccomp (before dropping capabilities unless no_new_privs), bounding set, groups,
 *      gid, uid, capabilities, no_new_privs
 *   7. fork the command; report "started" or the exec error to skiff (fd 4)
 *   8. as PID 1: forward every catchable signal to the command, reap zombies, exit with the
 *      command's status (128+N when it died of signal N); with user-mode networking, relay
 *      the container's Ethernet frames between its tap device and the helper (see relay below)
 *
 * It links nothing but libc, keeps no heap after start-up and is the only process a container
 * adds besides its own. Errors go to skiff over fd 4 as one line; skiff prints them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/sockios.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The new mount API, declared here to avoid header clashes between glibc and linux/mount.h. */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef FSCONFIG_SET_FLAG
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#endif

struct skiff_open_how { uint64_t flags, mode, resolve; };
struct skiff_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };

static int sys_openat2(int dfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct skiff_open_how how = { .flags = flags, .mode = 0, .resolve = resolve };
	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
}
static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_move_mount(int from, const char *fp, int to, const char *tp, unsigned flags)
{
	return (int)syscall(SYS_move_mount, from, fp, to, tp, flags);
}
static int sys_fsopen(const char *fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attrs) { return (int)syscall(SYS_fsmount, fd, flags, attrs); }
static int sys_mount_setattr(int dfd, const char *path, unsigned flags, uint64_t set)
{
	struct skiff_mount_attr a = { .attr_set = set };
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &a, sizeof a);
}
static int sys_pivot_root(const char *n, const char *o) { return (int)syscall(SYS_pivot_root, n, o); }

/* ---- reporting --------------------------------------------------------------------------- */

#define PLAN_FD 3
#define SYNC_FD 4

static int sync_fd = -1;

static void send_msg(const char *msg)
{
	if (sync_fd < 0 || send(sync_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		dprintf(2, "Error: %s\n", msg + 1);
}

/* die reports a setup error as one line and exits with code (125 unless told otherwise). */
static void __attribute__((noreturn, format(printf, 2, 3))) die_code(int code, const char *fmt, ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "E%d:", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof buf - n, fmt, ap);
	va_end(ap);
	send_msg(buf);
	_exit(code);
}
#define die(...) die_code(125, __VA_ARGS__)

/* ---- the plan ---------------------------------------------------------------------------- */

/* The plan is a sequence of NUL-terminated words: an opcode followed by its fixed arguments,
 * ending with "end". skiff's pkg/container writes it; see plan.go there for the opcodes. */
static char *plan_buf;
static size_t plan_len, plan_pos;

static void read_plan(void)
{
	size_t cap = 16384;
	plan_buf = malloc(cap);
	if (!plan_buf)
		die("out of memory");
	for (;;) {
		if (plan_len == cap) {
			cap *= 2;
			plan_buf = realloc(plan_buf, cap);
			if (!plan_buf)
				die("out of memory");
		}
		ssize_t n = read(PLAN_FD, plan_buf + plan_len, cap - plan_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read plan: %s", strerror(errno));
		if (n == 0)
			break;
		plan_len += n;
	}
	close(PLAN_FD);
	if (plan_len == 0 || plan_buf[plan_len - 1] != '\0')
		die("plan is truncated (skiff and skiff-init versions differ?)");
}

static const char *word(void)
{
	if (plan_pos >= plan_len)
		die("plan ends early (skiff and skiff-init versions differ?)");
	const char *w = plan_buf + plan_pos;
	plan_pos += strlen(w) + 1;
	return w;
}
static long long num(void)
{
	const char *w = word();
	char *end;
	errno = 0;
	long long v = strtoll(w, &end, 0);
	if (errno || *end)
		die("plan: bad number %s", w);
	return v;
}
static uint64_t unum(void)
{
	const char *w = word();
	char *end;
	errno = 0;
	unsigned long long v = strtoull(w, &end, 0);
	if (errno || *end)
		die("plan: bad number %s", w);
	return v;
}

/* ---- paths inside the root --------------------------------------------------------------- */

static int root_fd = -1;

/* in_root opens path (absolute, inside the container) as an O_PATH descriptor, resolving every
 * symlink as if the container's root were "/". With create, missing directories are made
 * (mode 0755) and a missing last component becomes a directory (kind 'd') or an empty file
 * (kind 'f'). Returns -1 with errno set when it does not exist and create is 0. */
static int in_root(const char *path, int create, char kind)
{
	int fd = sys_openat2(root_fd, path, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof prefix)
		die("path too long: %s", path);
	int parent = dup(root_fd);
	size_t i = 0;
	prefix[0] = '\0';
	while (i < len) {
		while (i < len && path[i] == '/')
			i++;
		if (i >= len)
			break;
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		char name[NAME_MAX + 1];
		if (i - start > NAME_MAX)
			die("path component too long in %s", path);
		memcpy(name, path + start, i - start);
		name[i - start] = '\0';
		size_t plen = strlen(prefix);
		snprintf(prefix + plen, sizeof prefix - plen, "/%s", name);
		int last = (i >= len) || path[i + strspn(path + i, "/")] == '\0';
		int next = sys_openat2(root_fd, prefix, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (next < 0 && errno == ENOENT) {
			int r;
			if (last && kind == 'f') {
				r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(parent, name, 0755);
			}
			if (r < 0 && errno != EEXIST)
				die("create %s in the container: %s", prefix, strerror(errno));
			next = sys_openat2(root_fd, prefix, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		}
		if (next < 0)
			die("open %s in the container: %s", prefix, strerror(errno));
		close(parent);
		parent = next;
	}
	return parent;
}

/* ---- mounts ------------------------------------------------------------------------------ */

static void attach(int mfd, int target, const char *what, const char *dest)
{
	if (sys_move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("mount %s on %s: %s", what, dest, strerror(errno));
	close(mfd);
	close(target);
}

static unsigned attr_flags(const char *s)
{
	unsigned a = 0;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case 'r': a |= MOUNT_ATTR_RDONLY; break;
		case 's': a |= MOUNT_ATTR_NOSUID; break;
		case 'd': a |= MOUNT_ATTR_NODEV; break;
		case 'x': a |= MOUNT_ATTR_NOEXEC; break;
		}
	}
	return a;
}

/* fs_mount makes a new filesystem (proc, sysfs, tmpfs, devpts, mqueue) at dest.
 * opts is "key=value,flag,...", attrs letters r(eadonly) s(nosuid) d(nodev) x(noexec). */
static void fs_mount(const char *type, const char *dest, const char *attrs, const char *opts)
{
	int fs = sys_fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0) {
		if (errno == ENOSYS)
			die("this kernel lacks the new mount API (fsopen): skiff needs Linux 5.12 or newer");
		die("mount %s on %s: %s", type, dest, strerror(errno));
	}
	char o[1024];
	snprintf(o, sizeof o, "%s", opts);
	for (char *save = NULL, *kv = strtok_r(o, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		int r;
		if (eq) {
			*eq = '\0';
			r = sys_fsconfig(fs, FSCONFIG_SET_STRING, kv, eq + 1, 0);
		} else {
			r = sys_fsconfig(fs, FSCONFIG_SET_FLAG, kv, NULL, 0);
		}
		if (r < 0)
			die("mount %s on %s: option %s: %s", type, dest, kv, strerror(errno));
	}
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		die("mount %s on %s: %s", type, dest, strerror(errno));
	int m = sys_fsmount(fs, FSMOUNT_CLOEXEC, attr_flags(attrs));
	if (m < 0)
		die("mount %s on %s: %s", type, dest, strerror(errno));
	close(fs);
	attach(m, in_root(dest, 1, 'd'), type, dest);
}

/* bind_mount puts a copy of the host's src (a whole tree when recursive) on dest, read-only
 * when asked; kind is 'f' or 'd' for the mount point to create. */
static void bind_mount(const char *src, const char *dest, int ro, int recursive, char kind, int optional)
{
	int m = sys_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (m < 0) {
		if (optional && errno == ENOENT)
			return;
		if (errno == ENOSYS)
			die("this kernel lacks the new mount API (open_tree): skiff needs Linux 5.12 or newer");
		die("bind %s: %s", src, strerror(errno));
	}
	if (ro && sys_mount_setattr(m, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), MOUNT_ATTR_RDONLY) < 0)
		die("make %s read-only: %s", dest, strerror(errno));
	attach(m, in_root(dest, 1, kind), src, dest);
}

/* put_file mounts a file with the given content on dest (/etc/hosts, /etc/resolv.conf,
 * /etc/hostname): the files live in a small tmpfs of this mount namespace, so skiff writes
 * nothing for them on the host and nothing is left to clean up. */
static void put_file(const char *dest, const char *content)
{
	static int files = -1, n;
	if (files < 0) {
		int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0 || sys_fsconfig(fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 ||
		    sys_fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
		    sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
		    (files = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0)
			die("a tmpfs for %s: %s", dest, strerror(errno));
		close(fs);
	}
	char name[32];
	snprintf(name, sizeof name, "f%d", n++);
	int fd = openat(files, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	size_t len = strlen(content);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || close(fd) < 0)
		die("write %s: %s", dest, strerror(errno));
	int m = sys_open_tree(files, name, OPEN_TREE_CLONE | O_CLOEXEC);
	if (m < 0)
		die("bind %s: %s", dest, strerror(errno));
	attach(m, in_root(dest, 1, 'f'), "file", dest);
}

/* mask hides a path: /dev/null over a file, an empty read-only tmpfs over a directory. */
static void mask(const char *path)
{
	int t = in_root(path, 0, 0);
	if (t < 0)
		return;
	struct stat st;
	if (fstat(t, &st) < 0)
		die("stat %s: %s", path, strerror(errno));
	int m;
	/* directories get one empty read-only tmpfs, made once and bound on each */
	static int empty = -1;
	if (S_ISDIR(st.st_mode) && empty >= 0) {
		m = sys_open_tree(empty, "", OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
	} else if (S_ISDIR(st.st_mode)) {
		int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0 || sys_fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
		    sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			die("mask %s: %s", path, strerror(errno));
		m = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		close(fs);
		if (m < 0)
			die("mask %s: %s", path, strerror(errno));
		/* attached, the mount's descriptor stays good to clone from */
		if (sys_move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			die("mount mask on %s: %s", path, strerror(errno));
		close(t);
		empty = m;
		return;
	} else {
		m = sys_open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | O_CLOEXEC);
	}
	if (m < 0)
		die("mask %s: %s", path, strerror(errno));
	attach(m, t, "mask", path);
}

/* ---- volume copy-up ------------------------------------------------------------------- */

/* copy_data copies the whole of in to out. */
static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = syscall(SYS_copy_file_range, in, NULL, out, NULL, (size_t)1 << 30, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
				return -1;
			break;
		}
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			off += w;
		}
	}
}

/* copy_tree copies the entries of directory src into directory dst: directories, files,
 * symlinks and fifos, with their owners, modes and times (a device node the user namespace may
 * not make is left out). what names src in errors. */
static void copy_tree(int src, int dst, const char *what)
{
	int dfd = dup(src);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d)
		die("copy %s into its volume: %s", what, strerror(errno));
	struct dirent *e;
	while ((errno = 0, e = readdir(d))) {
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("copy %s/%s into its volume: %s", what, n, strerror(errno));
		int r = 0;
		switch (st.st_mode & S_IFMT) {
		case S_IFDIR: {
			r = mkdirat(dst, n, 0700);
			int s2 = r < 0 ? -1 : openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = s2 < 0 ? -1 : openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (d2 < 0) {
				r = -1;
				break;
			}
			char sub[PATH_MAX];
			snprintf(sub, sizeof sub, "%s/%s", what, n);
			copy_tree(s2, d2, sub);
			r = fchown(d2, st.st_uid, st.st_gid);
			if (r == 0)
				r = fchmod(d2, st.st_mode & 07777);
			close(s2);
			close(d2);
			break;
		}
		case S_IFREG: {
			int in = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = in < 0 ? -1 : openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			r = out < 0 ? -1 : copy_data(in, out);
			if (r == 0)
				r = fchown(out, st.st_uid, st.st_gid);
			if (r == 0)
				r = fchmod(out, st.st_mode & 07777); /* after chown, which clears set-id bits */
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
			break;
		}
		case S_IFLNK: {
			char target[PATH_MAX];
			ssize_t len = readlinkat(src, n, target, sizeof target - 1);
			if (len < 0) {
				r = -1;
				break;
			}
			target[len] = '\0';
			r = symlinkat(target, dst, n);
			if (r == 0)
				r = fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
			break;
		}
		case S_IFIFO:
		case S_IFCHR:
		case S_IFBLK:
			r = mknodat(dst, n, st.st_mode, st.st_rdev);
			if (r < 0 && errno == EPERM && !S_ISFIFO(st.st_mode))
				continue; /* devices cannot be made in a user namespace */
			if (r == 0)
				r = fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
			break;
		default:
			continue; /* sockets belong to the process that made them */
		}
		if (r < 0)
			die("copy %s/%s into its volume: %s", what, n, strerror(errno));
		struct timespec times[2] = { st.st_atim, st.st_mtim };
		utimensat(dst, n, times, AT_SYMLINK_NOFOLLOW);
	}
	if (errno)
		die("copy %s into its volume: %s", what, strerror(errno));
	closedir(d);
}

/* copy_up gives the empty volume directory dir what the root has at path (docker's copy of an
 * image's files into a new volume): the directory's own owner and mode too. Nothing happens
 * when the root has no directory there or the volume is not empty. */
static void copy_up(const char *path, const char *dir)
{
	int src = sys_openat2(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (src < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return;
		die("open %s to copy it into its volume: %s", path, strerror(errno));
	}
	int dst = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dst < 0)
		die("open volume directory %s: %s", dir, strerror(errno));
	int dfd = dup(dst);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d)
		die("read volume directory %s: %s", dir, strerror(errno));
	int empty = 1;
	struct dirent *e;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	if (empty) {
		copy_tree(src, dst, path);
		struct stat st;
		if (fstat(src, &st) == 0 && (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0))
			die("give volume directory %s the owner and mode of %s: %s", dir, path, strerror(errno));
	}
	close(src);
	close(dst);
}

/* readonly re-attaches path's mount tree on itself, read-only. */
static void readonly(const char *path)
{
	int t = in_root(path, 0, 0);
	if (t < 0)
		return;
	int m = sys_open_tree(t, "", OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (m < 0 || sys_mount_setattr(m, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY) < 0)
		die("make %s read-only: %s", path, strerror(errno));
	attach(m, t, "read-only", path);
}

/* set_sysctl writes a namespaced kernel setting (--sysctl) in the container's /proc/sys,
 * before /proc/sys is made read-only; key may use dots or slashes. */
static void set_sysctl(const char *key, const char *value)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "/proc/sys/%s", key);
	if (n < 0 || (size_t)n >= sizeof path)
		die("sysctl %s: name too long", key);
	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	int fd = sys_openat2(root_fd, path, O_WRONLY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	size_t len = strlen(value);
	if (fd < 0 && errno == ENOENT)
		die("set sysctl %s: this kernel has no such setting: check its name", key);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		die("set sysctl %s=%s: %s: check the value", key, value, strerror(errno));
	close(fd);
}

static void make_symlink(const char *target, const char *link)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", link);
	char *slash = strrchr(dir, '/');
	if (!slash)
		die("symlink %s: not absolute", link);
	const char *name = link + (slash - dir) + 1;
	*slash = '\0';
	int d = in_root(dir[0] ? dir : "/", 1, 'd');
	if (symlinkat(target, d, name) < 0 && errno != EEXIST)
		die("symlink %s: %s", link, strerror(errno));
	close(d);
}

/* ---- credentials ------------------------------------------------------------------------- */

struct creds {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	uint64_t bounding, effective, permitted, inheritable, ambient;
	int nnp;
	int set_creds;
};

static int last_cap(void)
{
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char b[16] = { 0 };
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof b - 1);
		close(fd);
		if (n > 0)
			return atoi(b);
	}
	return CAP_LAST_CAP;
}

static void load_seccomp(struct sock_filter *prog, size_t n, int have_prog)
{
	if (!have_prog)
		return;
	struct sock_fprog fp = { .len = (unsigned short)n, .filter = prog };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
		die("load seccomp filter: %s", strerror(errno));
}

static void drop_privileges(struct creds *c, int lastcap, struct sock_filter *prog, size_t nprog, int have_prog)
{
	if (!c->nnp)
		load_seccomp(prog, nprog, have_prog);
	for (int i = 0; i <= lastcap; i++)
		if (!(c->bounding & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			die("drop capability %d from the bounding set: %s", i, strerror(errno));
	if (c->set_creds) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			die("keep capabilities: %s", strerror(errno));
		if (setgroups(c->ngroups, c->groups) < 0 && !(errno == EPERM && c->ngroups == 0))
			die("set supplementary groups: %s (is every group id mapped into the user namespace?)", strerror(errno));
		if (setresgid(c->gid, c->gid, c->gid) < 0)
			die("set gid %u: %s (gid not mapped into the user namespace? add a /etc/subgid range)", c->gid, strerror(errno));
		if (setresuid(c->uid, c->uid, c->uid) < 0)
			die("set uid %u: %s (uid not mapped into the user namespace? add a /etc/subuid range)", c->uid, strerror(errno));
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable },
		{ (uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32), (uint32_t)(c->inheritable >> 32) },
	};
	if (syscall(SYS_capset, &h, d) < 0)
		die("set capabilities: %s", strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i <= lastcap; i++)
		if ((c->ambient & (1ULL << i)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			die("raise ambient capability %d: %s", i, strerror(errno));
	if (c->nnp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die("set no_new_privs: %s", strerror(errno));
		load_seccomp(prog, nprog, have_prog);
	}
}

/* ---- PID 1 ------------------------------------------------------------------------------- */

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

static void send_fd(int fd)
{
	char tag = 'P';
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	memset(&u, 0, sizeof u);
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sync_fd, &mh, MSG_NOSIGNAL) < 0)
		die("send terminal to skiff: %s", strerror(errno));
}


/* ---- the network relay --------------------------------------------------------------------
 * With user-mode networking, skiff makes the container's eth0 a tap device and starts passt
 * (from the passt package, the helper pasta is a mode of) on one end of a socket pair; the
 * tap and the other end come here. This process moves frames between the two, in passt's
 * stream format (a 32-bit big-endian length, then the frame). The command needs not wait for
 * the helper to start: what it sends first waits in the socket until passt reads it. When
 * this process exits, passt sees the socket close and exits too: the helper lives exactly as
 * long as the container. */
static int relay_tap = -1, relay_sock = -1;
static unsigned char relay_mac[6]; /* eth0's: for frames passt sends before it has learnt it */
static unsigned char relay_in[256 * 1024];
static size_t relay_have;

static void relay_stop(void)
{
	if (relay_tap >= 0)
		close(relay_tap);
	if (relay_sock >= 0)
		close(relay_sock);
	relay_tap = relay_sock = -1;
}

/* relay_from_tap sends every frame the container has queued to the helper. */
static void relay_from_tap(void)
{
	static unsigned char frame[65536 + 64];
	for (int i = 0; i < 64 && relay_tap >= 0; i++) {
		ssize_t n = read(relay_tap, frame, sizeof frame);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			relay_stop();
			return;
		}
		uint32_t len = htonl((uint32_t)n);
		struct iovec iov[2] = { { &len, 4 }, { frame, (size_t)n } };
		size_t want = 4 + (size_t)n, done = 0;
		while (done < want) { /* the socket blocks only while passt starts or falls behind */
			ssize_t w = writev(relay_sock, iov, 2);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				relay_stop();
				return;
			}
			done += (size_t)w;
			for (int k = 0; k < 2; k++) {
				size_t take = (size_t)w < iov[k].iov_len ? (size_t)w : iov[k].iov_len;
				iov[k].iov_base = (char *)iov[k].iov_base + take;
				iov[k].iov_len -= take;
				w -= (ssize_t)take;
			}
		}
	}
}

/* relay_from_sock writes every whole frame the helper sent to the tap. */
static void relay_from_sock(void)
{
	ssize_t n = read(relay_sock, relay_in + relay_have, sizeof relay_in - relay_have);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		relay_stop(); /* the helper is gone: the container is left without a network */
		return;
	}
	relay_have += (size_t)n;
	size_t off = 0;
	while (relay_have - off >= 4) {
		uint32_t len;
		memcpy(&len, relay_in + off, 4);
		len = ntohl(len);
		if (len > sizeof relay_in - 4) {
			relay_stop();
			return;
		}
		if (relay_have - off < 4 + len)
			break;
		static const unsigned char unknown[6];
		if (len >= 14 && !memcmp(relay_in + off + 4, unknown, 6))
			memcpy(relay_in + off + 4, relay_mac, 6); /* passt knows a guest's MAC from its frames only */
		if (write(relay_tap, relay_in + off + 4, len) < 0 && errno != EAGAIN && errno != EINVAL)
			errno = 0; /* a frame the kernel refuses is dropped, as a wire would */
		off += 4 + len;
	}
	memmove(relay_in, relay_in + off, relay_have - off);
	relay_have -= off;
}


/* if_up brings up the interface name (s: any socket of its namespace). */
static void if_up(int s, const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
		die("bring up %s: %s", name, strerror(errno));
}

/* set_ipv4 gives the interface name the address addr/prefix. */
static void set_ipv4(int s, const char *name, const char *addr, int prefix)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		die("bad address %s", addr);
	memcpy(&ifr.ifr_addr, &sin, sizeof sin);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		die("give %s the address %s: %s", name, addr, strerror(errno));
	sin.sin_addr.s_addr = prefix ? htonl(~0U << (32 - prefix)) : 0;
	memcpy(&ifr.ifr_netmask, &sin, sizeof sin);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		die("set the netmask of %s: %s", name, strerror(errno));
}

/* make_tap creates the container's eth0 as a tap device that this process relays, with the
 * address, the default route and the MTU skiff gives: what pasta's --config-net would set.
 * IPv6 stays off on it (the helper runs IPv4 only), so the kernel sends nothing on its own
 * and the helper is started only when the command first uses the network. */
#define SKIFF_TUNSETIFF _IOW('T', 202, int)
#define SKIFF_TUNSETPERSIST _IOW('T', 203, int)
#define SKIFF_IFF_TAP 0x0002
#define SKIFF_IFF_NO_PI 0x1000
static void make_tap(const char *addr, int prefix, const char *gw, int mtu)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			die_code(125, "open /dev/net/tun: %s: user-mode networking needs it usable: chmod 666 /dev/net/tun (as distributions ship it), or use --network none or host", strerror(errno));
		die_code(125, "open /dev/net/tun: %s: load the tun module, or use --network none or host", strerror(errno));
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "eth0");
	ifr.ifr_flags = SKIFF_IFF_TAP | SKIFF_IFF_NO_PI;
	if (ioctl(fd, SKIFF_TUNSETIFF, &ifr) < 0)
		die("create the container's eth0: %s", strerror(errno));
	/* persistent: our exit then only detaches it, and the device goes with the namespace, in
	 * the kernel's background clean-up, instead of making this exit wait for it */
	if (ioctl(fd, SKIFF_TUNSETPERSIST, 1) < 0)
		die("make eth0 outlive its descriptor: %s", strerror(errno));
	int v6 = open("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (v6 >= 0) {
		if (write(v6, "1", 1) < 0)
			errno = 0;
		close(v6);
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		die("set the MTU of eth0: %s", strerror(errno));
	set_ipv4(s, "eth0", addr, prefix);
	if_up(s, "eth0");
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		die("read the MAC address of eth0: %s", strerror(errno));
	memcpy(relay_mac, ifr.ifr_hwaddr.sa_data, 6);
	struct rtentry rt;
	memset(&rt, 0, sizeof rt);
	struct sockaddr_in any = { .sin_family = AF_INET }, gwa = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, gw, &gwa.sin_addr) != 1)
		die("bad gateway %s", gw);
	memcpy(&rt.rt_dst, &any, sizeof any);
	memcpy(&rt.rt_genmask, &any, sizeof any);
	memcpy(&rt.rt_gateway, &gwa, sizeof gwa);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = "eth0";
	if (ioctl(s, SIOCADDRT, &rt) < 0) {
		if (errno != ENETUNREACH)
			die("route through %s: %s", gw, strerror(errno));
		/* a gateway outside the subnet: a route to it first */
		struct rtentry host;
		memset(&host, 0, sizeof host);
		struct sockaddr_in all = { .sin_family = AF_INET };
		all.sin_addr.s_addr = 0xffffffff;
		memcpy(&host.rt_dst, &gwa, sizeof gwa);
		memcpy(&host.rt_genmask, &all, sizeof all);
		host.rt_flags = RTF_UP | RTF_HOST;
		host.rt_dev = "eth0";
		if (ioctl(s, SIOCADDRT, &host) < 0 || ioctl(s, SIOCADDRT, &rt) < 0)
			die("route through %s: %s", gw, strerror(errno));
	}
	close(s);
	relay_tap = fd;
}

/* relay_poll adds the relay's descriptors to p (from index n) and returns the new count. */
static int relay_poll(struct pollfd *p, int n)
{
	if (relay_tap < 0)
		return n;
	p[n].fd = relay_tap, p[n].events = POLLIN, p[n].revents = 0;
	p[n + 1].fd = relay_sock, p[n + 1].events = POLLIN, p[n + 1].revents = 0;
	return n + 2;
}

/* relay_serve moves frames for what poll found ready at p[n] and p[n+1]. */
static void relay_serve(struct pollfd *p, int n, int count)
{
	if (n + 2 > count || relay_tap < 0)
		return;
	if (p[n].revents)
		relay_from_tap();
	if (relay_sock >= 0 && p[n + 1].revents)
		relay_from_sock();
}

/* SKIFF_TRACE: per-phase milliseconds on stderr when the plan asks */
static int tracing;
static struct timespec trace_last;
static void trace(const char *phase)
{
	if (!tracing)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (trace_last.tv_sec)
		dprintf(2, "skiff-trace:   init %-10s %6.2f ms\n", phase,
			(now.tv_sec - trace_last.tv_sec) * 1e3 + (now.tv_nsec - trace_last.tv_nsec) / 1e6);
	trace_last = now;
}

/* recv_fd receives a descriptor skiff sent on the sync socket (SCM_RIGHTS). */
static int recv_fd(void)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n;
	do
		n = recvmsg(sync_fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (n <= 0 || !c || c->cmsg_type != SCM_RIGHTS)
		die("receive a descriptor from skiff: %s", n < 0 ? strerror(errno) : "none sent");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* join_container enters the namespaces of the running container whose skiff-init is pid (for
 * exec; the user namespace is skiff's already). Every namespace is opened before the first is
 * entered: /proc is the host's only until the mount namespace changes. The pid namespace
 * applies to the command this process spawns; the mount namespace's root becomes ours. */
static void join_container(const char *pid)
{
	static const char *const kinds[] = { "cgroup", "ipc", "uts", "net", "pid", "mnt" };
	int fds[6];
	for (int i = 0; i < 6; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kinds[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die("enter the container (%s): %s: is it still running?", path, strerror(errno));
	}
	for (int i = 0; i < 6; i++) {
		/* a namespace the container shares with the host (--network host) is ours already,
		 * and one a rootless skiff may not enter: it belongs to the host's user namespace */
		char self[64];
		struct stat want, have;
		snprintf(self, sizeof self, "/proc/self/ns/%s", kinds[i]);
		if (fstat(fds[i], &want) == 0 && stat(self, &have) == 0 && want.st_ino == have.st_ino && want.st_dev == have.st_dev) {
			close(fds[i]);
			continue;
		}
		if (setns(fds[i], 0) < 0)
			die("join the container's %s namespace: %s", kinds[i], strerror(errno));
		close(fds[i]);
	}
}

/* What the command's process needs between clone and exec, and what it reports back. */
struct spawn {
	int tty, slave, keep_stdin_open;
	int in_fd;          /* detached with -i: the read end of the stdin pipe, else -1 */
	int out_fd, err_fd; /* detached: the write ends of the log pipes, else -1 */
	char **env, **args;
	const char *stage; /* the step that failed before the exec, or NULL */
	int err;           /* errno of the failure; 0 when the exec succeeded */
};

/* ---- the keeper of a detached container ---------------------------------------------------- */

static struct {
	int detached, autoremove;
	const char *log_driver, *started_at;
	int running_fd, state_fd, log_fd; /* the lock is held as long as running_fd is open */
	long long log_max;                /* --log-opt max-size: the log starts over beyond it */
	int log_files, log_dir;           /* --log-opt max-file: the files kept, in this directory */
	const char *restart;              /* no, always, unless-stopped, on-failure */
	long restart_max;                 /* on-failure:N; 0: no limit */
	int oom_fd;                       /* the cgroup's memory.oom_control, for OOMKilled */
} shim = { .running_fd = -1, .state_fd = -1, .log_fd = -1, .restart = "no", .oom_fd = -1, .log_dir = -1 };

/* LOG_FILE is the log's name in the container's directory (package container's LogFile). */
#define LOG_FILE "ctr.log"

/* log_rotate makes room in the log as docker's json-file does with max-file: the log becomes
 * LOG_FILE.1, which becomes .2 and so on up to max-file - 1 (the oldest goes), and a new log
 * takes the old one's descriptor. Where that fails the log starts over, as without max-file. */
static void log_rotate(void)
{
	if (shim.log_files > 1 && shim.log_dir >= 0) {
		char from[64], to[64];
		for (int i = shim.log_files - 1; i >= 1; i--) {
			snprintf(from, sizeof from, i == 1 ? "%s" : "%s.%d", LOG_FILE, i - 1);
			snprintf(to, sizeof to, "%s.%d", LOG_FILE, i);
			if (renameat(shim.log_dir, from, shim.log_dir, to) < 0 && errno != ENOENT)
				break;
		}
		int fd = openat(shim.log_dir, LOG_FILE, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0 && dup3(fd, shim.log_fd, O_CLOEXEC) >= 0) {
			close(fd);
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	if (ftruncate(shim.log_fd, 0) < 0)
		errno = 0;
}

/* oom_killed says whether the kernel killed a process of the container's memory cgroup. */
static int oom_killed(void)
{
	char b[1024];
	ssize_t n = shim.oom_fd < 0 ? -1 : pread(shim.oom_fd, b, sizeof b - 1, 0);
	if (n <= 0)
		return 0;
	b[n] = 0;
	const char *k = strstr(b, "oom_kill ");
	return k && strtoul(k + 9, NULL, 10) > 0;
}

/* skiff stop sends its signal with sigqueue and this value: a container stopped on purpose is
 * not restarted by its policy */
#define STOP_VALUE 0x736b6966

/* now_rfc3339 writes the current UTC time as Go's time.RFC3339Nano parses it. */
static void now_rfc3339(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, n - k, ".%09ldZ", ts.tv_nsec);
}

/* ---- attach: the clients of a detached container's keeper ----------------------------------
 * skiff attach connects to a SOCK_SEQPACKET socket skiff made in the container's directory
 * (op attach). Each packet from a client is a kind byte and its data: 'i' input for the
 * command's stdin (the terminal, or with -i a pipe the keeper holds open, as docker's
 * OpenStdin), 'w' a window size (two native uint16: rows, columns). The keeper sends every
 * client what the command writes, as a stream byte (1 stdout, 2 stderr) and the data; a client
 * that cannot take it in time misses it rather than stall the container. A client's end of
 * input is not the container's: its stdin stays open for the next one. */
#define ATTACH_MAX 8
static int attach_listen = -1, attach_pipe; /* op attach: the socket, and whether -i asks for a pipe */
static int attach_in = -1, attach_tty = -1; /* where input goes; the terminal's master, for sizes */
static int attach_cl[ATTACH_MAX], attach_n;
static char attach_pend[4097];
static size_t attach_pend_n, attach_pend_off;

/* attach_poll adds the socket, the clients and, while input waits, attach_in to p (from index n). */
static int attach_poll(struct pollfd *p, int n)
{
	if (attach_listen < 0)
		return n;
	p[n].fd = attach_listen, p[n].events = attach_n < ATTACH_MAX ? POLLIN : 0, p[n].revents = 0;
	n++;
	for (int i = 0; i < attach_n; i++, n++)
		p[n].fd = attach_cl[i], p[n].events = attach_pend_n ? 0 : POLLIN, p[n].revents = 0;
	p[n].fd = attach_pend_n ? attach_in : -1, p[n].events = POLLOUT, p[n].revents = 0;
	return n + 1;
}

/* attach_write passes on the input that waits, as far as the command's stdin takes it. */
static void attach_write(void)
{
	while (attach_pend_off < attach_pend_n) {
		ssize_t w = write(attach_in, attach_pend + attach_pend_off, attach_pend_n - attach_pend_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0)
			break; /* the terminal or pipe is gone: the input goes nowhere */
		attach_pend_off += (size_t)w;
	}
	attach_pend_n = attach_pend_off = 0;
}

static void attach_drop(int i)
{
	close(attach_cl[i]);
	attach_cl[i] = attach_cl[--attach_n];
}

/* attach_serve takes new clients and their packets (p as attach_poll filled it from n). */
static void attach_serve(struct pollfd *p, int n, int count)
{
	if (attach_listen < 0 || n >= count)
		return;
	int clients = attach_n;
	if (p[n + 1 + clients].revents)
		attach_write();
	for (int i = clients - 1; i >= 0; i--) {
		if (!p[n + 1 + i].revents)
			continue;
		char pkt[sizeof attach_pend];
		ssize_t r = recv(attach_cl[i], pkt, sizeof pkt, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			attach_drop(i);
			continue;
		}
		if (pkt[0] == 'i' && r > 1 && attach_in >= 0 && !attach_pend_n) {
			memcpy(attach_pend, pkt + 1, (size_t)r - 1);
			attach_pend_n = (size_t)r - 1, attach_pend_off = 0;
			attach_write();
		} else if (pkt[0] == 'w' && r == 5 && attach_tty >= 0) {
			uint16_t rc[2];
			memcpy(rc, pkt + 1, sizeof rc);
			struct winsize ws = { .ws_row = rc[0], .ws_col = rc[1] };
			ioctl(attach_tty, TIOCSWINSZ, &ws);
		}
	}
	if (p[n].revents & POLLIN) {
		int c = accept4(attach_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c >= 0 && attach_n < ATTACH_MAX)
			attach_cl[attach_n++] = c;
		else if (c >= 0)
			close(c);
	}
}

/* attach_send gives every client what the command wrote on a stream (1 stdout, 2 stderr). */
static void attach_send(int stream, const char *buf, size_t len)
{
	char kind = (char)stream;
	for (int i = attach_n - 1; i >= 0; i--) {
		struct iovec iov[2] = { { .iov_base = &kind, .iov_len = 1 }, { .iov_base = (void *)buf, .iov_len = len } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		if (sendmsg(attach_cl[i], &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != ENOBUFS)
			attach_drop(i);
	}
}

struct logstream {
	int fd;
	const char *name; /* stdout or stderr */
	size_t n;
	char buf[16384];
};

/* log_line appends one line (or, when !full, a piece of one) in the container's log format:
 * k8s-file "TIME STREAM F|P TEXT" (podman's), json-file {"log","stream","time"} (docker's). */
static void log_line(const char *stream, const char *text, size_t len, int full)
{
	static char out[6 * sizeof(((struct logstream *)0)->buf) + 256];
	char ts[64];
	size_t o;
	if (!strcmp(shim.log_driver, "none"))
		return;
	now_rfc3339(ts, sizeof ts);
	if (!strcmp(shim.log_driver, "json-file")) {
		o = (size_t)snprintf(out, sizeof out, "{\"log\":\"");
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)text[i];
			if (ch == '"' || ch == '\\') {
				out[o++] = '\\';
				out[o++] = (char)ch;
			} else if (ch == '\n') {
				out[o++] = '\\', out[o++] = 'n';
			} else if (ch == '\r') {
				out[o++] = '\\', out[o++] = 'r';
			} else if (ch == '\t') {
				out[o++] = '\\', out[o++] = 't';
			} else if (ch < 0x20) {
				o += (size_t)snprintf(out + o, 7, "\\u%04x", ch);
			} else {
				out[o++] = (char)ch;
			}
		}
		o += (size_t)snprintf(out + o, sizeof out - o, "%s\",\"stream\":\"%s\",\"time\":\"%s\"}\n", full ? "\\n" : "",
		                      stream, ts);
	} else {
		o = (size_t)snprintf(out, sizeof out, "%s %s %c ", ts, stream, full ? 'F' : 'P');
		memcpy(out + o, text, len);
		o += len;
		out[o++] = '\n';
	}
	if (shim.log_max > 0) {
		/* as conmon: a log that would grow beyond the limit starts over (appends go to 0),
		 * or with max-file, as docker's json-file: it is rotated */
		struct stat st;
		if (fstat(shim.log_fd, &st) == 0 && st.st_size > 0 && st.st_size + (long long)o > shim.log_max)
			log_rotate();
	}
	for (size_t w = 0; w < o;) {
		ssize_t r = write(shim.log_fd, out + w, o - w);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return; /* a full disk loses log lines, not the container */
		w += (size_t)r;
	}
}

/* log_read takes what the command wrote on one stream and logs its complete lines; at the end
 * of the stream (or when the buffer fills) the rest goes as a partial line. */
static void log_read(struct logstream *ls)
{
	ssize_t r = read(ls->fd, ls->buf + ls->n, sizeof ls->buf - ls->n);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) { /* end of stream, or EIO: a terminal whose other side is gone */
		close(ls->fd);
		ls->fd = -1;
		if (ls->n)
			log_line(ls->name, ls->buf, ls->n, 0);
		ls->n = 0;
		return;
	}
	if (attach_n)
		attach_send(strcmp(ls->name, "stderr") ? 1 : 2, ls->buf + ls->n, (size_t)r);
	ls->n += (size_t)r;
	size_t start = 0;
	for (size_t i = 0; i < ls->n; i++)
		if (ls->buf[i] == '\n') {
			log_line(ls->name, ls->buf + start, i - start, 1);
			start = i + 1;
		}
	memmove(ls->buf, ls->buf + start, ls->n - start);
	ls->n -= start;
	if (ls->n == sizeof ls->buf) {
		log_line(ls->name, ls->buf, ls->n, 0);
		ls->n = 0;
	}
}

/* shim_loop is PID 1 of a detached container once skiff has gone: it logs the command's
 * output, forwards signals, reaps, and at the command's end writes state.json in place and
 * exits with the command's status, which lets go of the running lock. */
static pid_t spawn(struct spawn *sp);

/* restart_wanted says whether the policy runs the command again after it ended with code. */
static int restart_wanted(int code, long runs)
{
	if (!strcmp(shim.restart, "always") || !strcmp(shim.restart, "unless-stopped"))
		return 1;
	if (!strcmp(shim.restart, "on-failure"))
		return code != 0 && (shim.restart_max == 0 || runs <= shim.restart_max);
	return 0;
}

/* drain_logs logs what the command wrote last; a process it left behind may hold a pipe
 * open: read what is there, not until its end. */
static void drain_logs(struct logstream *lo, struct logstream *le)
{
	struct logstream *ls[2] = { lo, le };
	for (int i = 0; i < 2; i++) {
		if (ls[i]->fd < 0)
			continue;
		fcntl(ls[i]->fd, F_SETFL, O_NONBLOCK);
		while (ls[i]->fd >= 0) {
			size_t before = ls[i]->n;
			int fd = ls[i]->fd;
			log_read(ls[i]);
			if (ls[i]->fd == fd && ls[i]->n == before)
				break; /* EAGAIN */
		}
		if (ls[i]->fd >= 0) {
			if (ls[i]->n)
				log_line(ls[i]->name, ls[i]->buf, ls[i]->n, 0);
			close(ls[i]->fd);
			ls[i]->fd = -1;
		}
		ls[i]->n = 0;
	}
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* shim_loop is PID 1 of a detached container once skiff has gone: it logs the command's
 * output, forwards signals, reaps, runs the command again when the restart policy says so
 * (after the others are killed, with docker's back-off from 100 ms doubling to a minute),
 * and at the end writes state.json in place and exits with the command's status, which lets
 * go of the running lock. */
static void __attribute__((noreturn)) shim_loop(pid_t child, int out, int err, struct spawn *sp)
{
	close(sync_fd);
	sync_fd = -1;
	int null = open("/dev/null", O_RDWR);
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	if (null > 2)
		close(null);
	sigset_t all;
	sigfillset(&all);
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(child, SIGKILL);
		_exit(125);
	}
	static struct logstream lo, le;
	lo.fd = out, lo.name = "stdout";
	le.fd = err, le.name = "stderr";
	int code = -1, stopping = 0;
	long runs = 1, delay = 100;
	long long started = mono_ms(), restart_at = -1;
	for (;;) {
		int timeout = -1;
		if (restart_at >= 0) {
			long long left = restart_at - mono_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		struct pollfd p[5 + ATTACH_MAX + 2] = { { .fd = sfd, .events = POLLIN }, { .fd = lo.fd, .events = POLLIN },
			                                { .fd = le.fd, .events = POLLIN } };
		int np = relay_poll(p, 3);
		int na = attach_poll(p, np);
		int n = poll(p, na, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (child > 0)
				kill(child, SIGKILL);
			_exit(125);
		}
		if (n == 0 && restart_at >= 0) { /* the back-off is over: run the command again */
			int outp[2], errp[2];
			if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
				break;
			sp->out_fd = outp[1], sp->err_fd = errp[1], sp->err = 0, sp->stage = NULL;
			child = spawn(sp);
			close(outp[1]);
			close(errp[1]);
			lo.fd = outp[0], le.fd = errp[0];
			if (child < 0 || sp->err)
				break; /* the exec failed: code is the last run's */
			restart_at = -1, code = -1, runs++;
			started = mono_ms();
			continue;
		}
		relay_serve(p, 3, np);
		attach_serve(p, np, na);
		if (p[1].revents)
			log_read(&lo);
		if (p[2].revents)
			log_read(&le);
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		if (si.ssi_signo != SIGCHLD) {
			if (si.ssi_code == SI_QUEUE && si.ssi_int == STOP_VALUE)
				stopping = 1;
			if (child > 0)
				kill(child, (int)si.ssi_signo);
			else if (stopping)
				break; /* stopped while waiting to restart */
			continue;
		}
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == child) {
				code = exit_code(st);
				child = -1;
			}
		if (child > 0 || code < 0 || restart_at >= 0)
			continue;
		drain_logs(&lo, &le);
		if (stopping || sp->tty || !restart_wanted(code, runs))
			break;
		/* the rest of the container goes with its command, as when docker restarts one */
		kill(-1, SIGKILL);
		while (waitpid(-1, NULL, 0) > 0)
			;
		if (mono_ms() - started >= 10000)
			delay = 100;
		restart_at = mono_ms() + delay;
		delay = delay * 2 > 60000 ? 60000 : delay * 2;
	}
	drain_logs(&lo, &le);
	if (!shim.autoremove) {
		/* an --rm container is removed by the next skiff that finds its lock free */
		char ts[64], buf[512];
		now_rfc3339(ts, sizeof ts);
		int k = snprintf(buf, sizeof buf, "{\"status\":\"exited\",\"exitCode\":%d,%s\"startedAt\":\"%s\",\"finishedAt\":\"%s\"}",
		                 code < 0 ? 137 : code, oom_killed() ? "\"oomKilled\":true," : "", shim.started_at, ts);
		if (pwrite(shim.state_fd, buf, (size_t)k, 0) == k && ftruncate(shim.state_fd, k) < 0)
			errno = 0;
	}
	_exit(code < 0 ? 137 : code);
}


/* spawn_command runs in the command's process, on its own stack, in this process's memory
 * (CLONE_VM|CLONE_VFORK): it writes nothing but its struct spawn and environ, and ends in
 * exec or _exit. */
static int spawn_command(void *arg)
{
	struct spawn *sp = arg;
	close(sync_fd);
	/* the command gets stdio only: whatever skiff inherited without close-on-exec goes at
	 * the exec */
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (sp->tty) {
		setsid();
		if (ioctl(sp->slave, TIOCSCTTY, 0) < 0) {
			sp->stage = "make the terminal the controlling one";
			sp->err = errno;
			_exit(125);
		}
		dup2(sp->slave, 0);
		dup2(sp->slave, 1);
		dup2(sp->slave, 2);
		if (sp->slave > 2)
			close(sp->slave);
	} else if (sp->in_fd >= 0) {
		dup2(sp->in_fd, 0);
		dup2(sp->out_fd, 1);
		dup2(sp->err_fd, 2);
	} else {
		if (!sp->keep_stdin_open || sp->out_fd >= 0) {
			int n = open("/dev/null", O_RDONLY);
			if (n >= 0 && n != 0) {
				dup2(n, 0);
				close(n);
			}
		}
		if (sp->out_fd >= 0) {
			dup2(sp->out_fd, 1);
			dup2(sp->err_fd, 2);
		}
	}
	/* the command starts with no signal blocked, as under runc: skiff run blocks the ones
	 * it forwards (see pkg/signals), and this process blocked all */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	extern char **environ;
	environ = sp->env; /* execvp looks the command up in the container's PATH */
	execvp(sp->args[0], sp->args);
	sp->err = errno;
	_exit(sp->err == ENOENT ? 127 : 126);
}

/* spawn starts the command, as posix_spawn does: the child shares this process's memory (no
 * page tables to copy) and runs on its own stack while this process waits, until it has exec'd
 * or failed, which it says in sp->err. */
static pid_t spawn(struct spawn *sp)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	return clone(spawn_command, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, sp);
}


/* ---- user networks --------------------------------------------------------------------------
 * A network made with `skiff network create` is a bridge in the user's hub: a network
 * namespace kept by a skiff-netns process for as long as any container is on a network. A
 * member gets eth1, one end of a veth pair whose other end is on the bridge. */

static void nl_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static struct rtattr *nl_nest(struct nlmsghdr *h, unsigned short type)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	nl_attr(h, type, NULL, 0);
	return a;
}

static void nl_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)a); }

/* make_veth creates eth1 here and its peer in the namespace hub_fd. */
static void make_veth(const char *peer, int hub_fd)
{
	union { struct nlmsghdr h; char buf[1024]; } m;
	memset(&m, 0, sizeof m);
	m.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	m.h.nlmsg_type = RTM_NEWLINK;
	m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nl_attr(&m.h, IFLA_IFNAME, "eth1", 5);
	struct rtattr *info = nl_nest(&m.h, IFLA_LINKINFO);
	nl_attr(&m.h, IFLA_INFO_KIND, "veth", 4);
	struct rtattr *data = nl_nest(&m.h, IFLA_INFO_DATA);
	struct rtattr *pinfo = nl_nest(&m.h, VETH_INFO_PEER);
	m.h.nlmsg_len += sizeof(struct ifinfomsg);
	nl_attr(&m.h, IFLA_IFNAME, peer, strlen(peer) + 1);
	uint32_t fd = (uint32_t)hub_fd;
	nl_attr(&m.h, IFLA_NET_NS_FD, &fd, sizeof fd);
	nl_end(&m.h, pinfo);
	nl_end(&m.h, data);
	nl_end(&m.h, info);
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (s < 0 || sendto(s, &m, m.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("create the container's eth1: %s", strerror(errno));
	char ack[1024];
	ssize_t n = recv(s, ack, sizeof ack, 0);
	struct nlmsghdr *r = (struct nlmsghdr *)ack;
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || r->nlmsg_type != NLMSG_ERROR)
		die("create the container's eth1: no answer from the kernel");
	int e = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	if (e)
		die("create the container's eth1: %s", strerror(-e));
	close(s);
}

/* join_network puts this container on the bridge of a user network in the hub (the network
 * namespace at hub): eth1 with addr/prefix here, its peer on the bridge there. */
static void join_network(const char *hub, const char *bridge, const char *peer, const char *addr, int prefix, const char *gw)
{
	int hub_fd = open(hub, O_RDONLY | O_CLOEXEC), own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (hub_fd < 0 || own < 0)
		die("open the network namespace of the user's networks %s: %s", hub, strerror(errno));
	make_veth(peer, hub_fd);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	set_ipv4(s, "eth1", addr, prefix);
	if_up(s, "eth1");
	close(s);
	/* the peer goes on the bridge, which the first member makes */
	if (setns(hub_fd, CLONE_NEWNET) < 0)
		die("enter the network namespace of the user's networks: %s", strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	if (ioctl(s, SIOCBRADDBR, bridge) < 0 && errno != EEXIST)
		die("make the bridge %s: %s", bridge, strerror(errno));
	/* the bridge has the network's gateway address, where the hub answers DNS for names */
	struct ifreq have;
	memset(&have, 0, sizeof have);
	strncpy(have.ifr_name, bridge, IFNAMSIZ - 1);
	have.ifr_addr.sa_family = AF_INET;
	if (ioctl(s, SIOCGIFADDR, &have) < 0) {
		/* a MAC address of its own (02:53 and the gateway's address): a bridge would
		 * otherwise take its lowest port's, and change it when that member goes, leaving
		 * the others' ARP entries for the gateway stale */
		struct in_addr a;
		if (inet_pton(AF_INET, gw, &a) != 1)
			die("bad gateway address %s", gw);
		memset(&have.ifr_hwaddr, 0, sizeof have.ifr_hwaddr);
		have.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		have.ifr_hwaddr.sa_data[0] = 0x02;
		have.ifr_hwaddr.sa_data[1] = 0x53;
		memcpy(have.ifr_hwaddr.sa_data + 2, &a, 4);
		if (ioctl(s, SIOCSIFHWADDR, &have) < 0)
			die("set the MAC address of the bridge %s: %s", bridge, strerror(errno));
		set_ipv4(s, bridge, gw, prefix);
	}
	if_up(s, bridge);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, bridge, IFNAMSIZ - 1);
	ifr.ifr_ifindex = (int)if_nametoindex(peer);
	if (!ifr.ifr_ifindex || ioctl(s, SIOCBRADDIF, &ifr) < 0)
		die("put %s on the bridge %s: %s", peer, bridge, strerror(errno));
	if_up(s, peer);
	close(s);
	if (setns(own, CLONE_NEWNET) < 0)
		die("return to the container's network namespace: %s", strerror(errno));
	close(hub_fd);
	close(own);
}

/* ---- names on user networks: a DNS answer from the hub ------------------------------------
 * Each bridge has its network's gateway address, which members list first in resolv.conf. The
 * hub answers A queries for the names, short IDs and aliases of the running members of the
 * querier's network, read from their leases (DIR/NETID/ADDRESS, JSON that skiff writes,
 * locked by each member's skiff-init for its life); anything else gets REFUSED, so the
 * resolver asks the next server (the network helper's forwarder). */

/* lease_has says whether the lease JSON names name (lower case) as "name", "id" (its first 12
 * characters too) or one of "aliases". Names are letters, digits, '_', '.', '-': no escapes. */
static int lease_has(const char *json, const char *name)
{
	static const char *const keys[] = { "\"name\":\"", "\"id\":\"", "\"aliases\":[" };
	size_t n = strlen(name);
	for (int k = 0; k < 3; k++) {
		const char *p = strstr(json, keys[k]);
		if (!p)
			continue;
		p += strlen(keys[k]);
		for (;;) {
			if (k == 2) {
				if (*p != '"')
					break;
				p++;
			}
			const char *end = strchr(p, '"');
			if (!end)
				break;
			size_t len = (size_t)(end - p);
			if ((len == n || (k == 1 && n == 12 && len > 12)) && !strncasecmp(p, name, n))
				return 1;
			if (k != 2 || end[1] != ',')
				break;
			p = end + 2;
		}
	}
	return 0;
}

/* dns_lookup finds name among the members of the network that src (a member's address) is on. */
static int dns_lookup(const char *dir, const char *src, const char *name, struct in_addr *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char net[PATH_MAX] = "";
	struct dirent *e;
	while ((e = readdir(d))) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.' || snprintf(p, sizeof p, "%s/%s/%s", dir, e->d_name, src) >= (int)sizeof p)
			continue;
		if (access(p, F_OK) == 0) {
			*strrchr(p, '/') = 0; /* the network's directory */
			memcpy(net, p, strlen(p) + 1);
			break;
		}
	}
	closedir(d);
	if (!net[0] || !(d = opendir(net)))
		return 0;
	int found = 0;
	while (!found && (e = readdir(d))) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.' || inet_pton(AF_INET, e->d_name, out) != 1 || snprintf(p, sizeof p, "%s/%s", net, e->d_name) >= (int)sizeof p)
			continue;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) { /* free: its container is gone */
			close(fd);
			continue;
		}
		char buf[4096];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			found = lease_has(buf, name);
		}
	}
	closedir(d);
	return found;
}

/* dns_serve answers on port 53 of every bridge of the hub, for ever. */
static void __attribute__((noreturn)) dns_serve(const char *dir)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(53) };
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) < 0 || bind(s, (struct sockaddr *)&any, sizeof any) < 0)
		_exit(1);
	for (;;) {
		unsigned char q[512 + 16];
		union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; } cm;
		struct sockaddr_in from;
		struct iovec iov = { .iov_base = q, .iov_len = 512 };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
		ssize_t n = recvmsg(s, &m, 0);
		if (n < 12 || (q[2] & 0x80) || (q[2] & 0x78) || q[4] != 0 || q[5] != 1)
			continue; /* an answer, not a query, or not one question */
		/* the question: labels to a lower-case dotted name */
		char name[256];
		size_t at = 12, len = 0;
		int bad = 0;
		while (at < (size_t)n && q[at]) {
			size_t l = q[at];
			if (l > 63 || at + 1 + l >= (size_t)n || len + l + 1 >= sizeof name) {
				bad = 1;
				break;
			}
			if (len)
				name[len++] = '.';
			for (size_t i = 0; i < l; i++) {
				unsigned char c = q[at + 1 + i];
				name[len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			at += 1 + l;
		}
		name[len] = 0;
		if (bad || at + 5 > (size_t)n)
			continue;
		at++;
		unsigned qtype = (unsigned)q[at] << 8 | q[at + 1], qclass = (unsigned)q[at + 2] << 8 | q[at + 3];
		at += 4; /* the answer starts after the question (any additional records are dropped) */
		char src[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &from.sin_addr, src, sizeof src);
		struct in_addr addr;
		int known = len && qclass == 1 && dns_lookup(dir, src, name, &addr);
		q[2] = (unsigned char)(0x80 | (q[2] & 0x01) | (known ? 0x04 : 0)); /* QR, RD kept, AA */
		q[3] = (unsigned char)(0x80 | (known ? 0 : 5));                     /* RA; NOERROR or REFUSED */
		memset(q + 6, 0, 6);
		if (known && (qtype == 1 || qtype == 255)) {
			static const unsigned char rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4 };
			memcpy(q + at, rr, sizeof rr);
			memcpy(q + at + sizeof rr, &addr, 4);
			at += sizeof rr + 4;
			q[7] = 1;
		}
		/* from the address it was sent to (the querier's gateway) */
		struct in_pktinfo pi = { 0 };
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				memcpy(&pi, CMSG_DATA(c), sizeof pi);
		pi.ipi_spec_dst = pi.ipi_addr;
		pi.ipi_ifindex = 0;
		struct iovec out = { .iov_base = q, .iov_len = at };
		struct msghdr r = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &out, .msg_iovlen = 1,
				    .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
		struct cmsghdr *c = CMSG_FIRSTHDR(&r);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		sendmsg(s, &r, 0);
	}
}

/* skiff-netns LOCK PIDFILE: the hub of the user's networks, made in a new network namespace
 * by skiff. A child answers DNS for the members' names (the leases are in LOCK's directory).
 * It stays until it gets the lock file exclusively, that is when no container on a network
 * holds it shared any more; then it removes its pid file and goes, and the DNS child, the
 * bridges and the namespace with it. */
static void __attribute__((noreturn)) netns_keeper(char **argv)
{
	prctl(PR_SET_NAME, "skiff-netns", 0, 0, 0);
	if (!argv[1] || !argv[2])
		_exit(2);
	int fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		_exit(1);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", argv[1]);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	pid_t keeper = getpid(), dns = fork();
	if (dns == 0) {
		close(fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != keeper)
			_exit(0);
		dns_serve(slash ? dir : ".");
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			_exit(1);
	unlink(argv[2]);
	if (dns > 0)
		kill(dns, SIGKILL);
	_exit(0);
}

/* skiff-netwait PASST ARG...: holds the helper's end of a container's socket (fd 3) and
 * becomes the helper when the container first sends a frame, which waits in the socket for
 * it. A container that ends without using the network never starts one: the socket's other
 * end closes and this exits. */
static void __attribute__((noreturn)) netwait(char **argv)
{
	prctl(PR_SET_NAME, "skiff-netwait", 0, 0, 0);
	struct pollfd p = { .fd = 3, .events = POLLIN };
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			_exit(1);
	if (!(p.revents & POLLIN) || (p.revents & POLLHUP) || !argv[1])
		_exit(0);
	execv(argv[1], argv + 1);
	_exit(127);
}

int main(int argc, char **argv)
{
	/* skiff runs with a coarse timer slack (pkg/userns/enter): the caller's own comes back
	 * here, for the container's processes and for passt */
	const char *slack = getenv("_SKIFF_TIMERSLACK");
	if (slack && *slack)
		prctl(PR_SET_TIMERSLACK, strtoul(slack, NULL, 10), 0, 0, 0);
	if (argc > 0 && !strcmp(argv[0], "skiff-netwait"))
		netwait(argv);
	if (argc > 0 && !strcmp(argv[0], "skiff-netns"))
		netns_keeper(argv);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* every signal to its default action, as under docker: the command inherits nothing its
	 * caller ignored (nohup, a shell's background job, a libc's internal signal) and an
	 * ignored SIGCHLD would reap behind our back. Raw syscalls: glibc refuses its own 32 and
	 * 33. This process installs no handler; it reads its signals from a signalfd. */
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } dfl = { SIG_DFL, 0, NULL, 0 };
	for (int s = 1; s <= 64; s++)
		if (s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof dfl.mask);
	sync_fd = SYNC_FD;
	prctl(PR_SET_NAME, "skiff-init", 0, 0, 0);

	/* 1. what needs no plan, while skiff writes it: private mounts (nothing mounted here
	 * reaches the caller's namespace), the last capability */
	struct timespec t_start;
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make mounts private: %s", strerror(errno));
	int lastcap = last_cap();

	/* 2. the plan, then the root and the mounts it names */
	read_plan();
	const char *rootfs = NULL, *hostname = NULL, *cwd = "/";
	char **env = calloc(1, sizeof(char *)), **args = calloc(1, sizeof(char *));
	size_t nenv = 0, nargs = 0;
	struct creds c = { .set_creds = 0 };
	int tty = 0, rows = 0, cols = 0, rootro = 0, have_prog = 0, keep_stdin_open = 1, joined = 0;
	struct sock_filter *prog = NULL;
	size_t nprog = 0;

	if (strcmp(word(), "skiff-plan-1") != 0)
		die("plan version mismatch: reinstall skiff and skiff-init together");

	for (;;) {
		const char *op = word();
		if (!strcmp(op, "end")) {
			break;
		} else if (!strcmp(op, "trace")) {
			tracing = 1;
			trace_last = t_start;
			trace("plan-read");
		} else if (!strcmp(op, "overlay")) { /* path options dir */
			rootfs = word();
			const char *opts = word(), *dir = word();
			/* relative lowerdirs keep a long list under the one-page limit of mount options */
			int cwd_fd = -1;
			if (*dir) {
				cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (chdir(dir) < 0)
					die("enter %s: %s", dir, strerror(errno));
			}
			if (mount("overlay", rootfs, "overlay", 0, opts) < 0) {
				int e = errno;
				if (e == ENOENT)
					die("mount the container's overlay file system: %s: a layer of the image is missing: pull or import it again", strerror(e));
				die("mount the container's overlay file system at %s: %s (options %.300s; see dmesg)", rootfs, strerror(e), opts);
			}
			if (cwd_fd >= 0 && (fchdir(cwd_fd) < 0 || close(cwd_fd) < 0))
				die("chdir back: %s", strerror(errno));
			root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (root_fd < 0)
				die("open root file system %s: %s", rootfs, strerror(errno));
			trace("overlay");
		} else if (!strcmp(op, "join")) { /* pid: exec in the running container it keeps */
			join_container(word());
			joined = 1;
		} else if (!strcmp(op, "rootfs")) {
			rootfs = word();
			/* pivot_root needs a mount point: bind the root onto itself (a vfs root is a
			 * plain directory) and work on that mount from here on */
			int dir = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dir < 0)
				die("open root file system %s: %s", rootfs, strerror(errno));
			int m = sys_open_tree(dir, "", OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
			if (m < 0) {
				if (errno == ENOSYS)
					die("this kernel lacks the new mount API (open_tree): skiff needs Linux 5.12 or newer");
				die("bind root file system %s: %s", rootfs, strerror(errno));
			}
			if (sys_move_mount(m, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
				die("bind root file system %s: %s", rootfs, strerror(errno));
			close(m);
			close(dir);
			root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (root_fd < 0)
				die("open root file system %s: %s", rootfs, strerror(errno));
		} else if (!strcmp(op, "file")) { /* dest content */
			const char *dest = word(), *content = word();
			put_file(dest, content);
		} else if (!strcmp(op, "mount")) { /* type dest attrs opts */
			const char *type = word(), *dest = word(), *attrs = word(), *opts = word();
			fs_mount(type, dest, attrs, opts);
		} else if (!strcmp(op, "bind")) { /* src dest ro recursive kind optional */
			const char *src = word(), *dest = word();
			int ro = (int)num(), rec = (int)num();
			const char *kind = word();
			int optional = (int)num();
			bind_mount(src, dest, ro, rec, kind[0], optional);
		} else if (!strcmp(op, "copyup")) { /* path dir */
			const char *path = word(), *dir = word();
			copy_up(path, dir);
		} else if (!strcmp(op, "symlink")) {
			const char *target = word(), *link = word();
			make_symlink(target, link);
		} else if (!strcmp(op, "mkdir")) {
			close(in_root(word(), 1, 'd'));
		} else if (!strcmp(op, "sysctl")) { /* key value */
			const char *key = word();
			set_sysctl(key, word());
		} else if (!strcmp(op, "mask")) {
			mask(word());
		} else if (!strcmp(op, "readonly")) {
			readonly(word());
		} else if (!strcmp(op, "rootro")) {
			rootro = 1;
		} else if (!strcmp(op, "hostname")) {
			hostname = word();
		} else if (!strcmp(op, "rlimit")) {
			int res = (int)num();
			struct rlimit rl = { .rlim_cur = unum(), .rlim_max = unum() };
			if (setrlimit(res, &rl) < 0)
				die("set rlimit %d to %llu:%llu: %s (the hard limit cannot be raised above skiff's own)", res,
				    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, strerror(errno));
		} else if (!strcmp(op, "oomscoreadj")) {
			const char *n = word();
			int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, n, strlen(n)) < 0)
				die("--oom-score-adj %s: %s%s", n, strerror(errno),
				    errno == EACCES ? " (lowering the score below the caller's needs CAP_SYS_RESOURCE: give a higher value)" : "");
			close(fd);
		} else if (!strcmp(op, "cwd")) {
			cwd = word();
		} else if (!strcmp(op, "user")) { /* uid gid ngroups groups... */
			c.set_creds = 1;
			c.uid = (uid_t)unum();
			c.gid = (gid_t)unum();
			c.ngroups = (int)num();
			if (c.ngroups < 0 || c.ngroups > 64)
				die("too many supplementary groups");
			for (int i = 0; i < c.ngroups; i++)
				c.groups[i] = (gid_t)unum();
		} else if (!strcmp(op, "caps")) { /* bounding effective permitted inheritable ambient */
			c.bounding = unum();
			c.effective = unum();
			c.permitted = unum();
			c.inheritable = unum();
			c.ambient = unum();
		} else if (!strcmp(op, "nnp")) {
			c.nnp = 1;
		} else if (!strcmp(op, "seccomp")) { /* fd of a raw BPF program; -1: sent on the sync socket */
			int fd = (int)num();
			if (fd == -1)
				fd = recv_fd();
			struct stat st;
			if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter))
				die("seccomp program is empty or malformed");
			prog = malloc(st.st_size);
			if (!prog || pread(fd, prog, st.st_size, 0) != st.st_size)
				die("read seccomp program: %s", strerror(errno));
			nprog = st.st_size / sizeof(struct sock_filter);
			have_prog = 1;
			close(fd);
		} else if (!strcmp(op, "tty")) {
			tty = 1;
			rows = (int)num();
			cols = (int)num();
		} else if (!strcmp(op, "nostdin")) {
			keep_stdin_open = 0;
		} else if (!strcmp(op, "execdetach")) { /* exec -d: outlive skiff, discard the output */
			shim.detached = 1;
			shim.log_driver = "none";
			shim.started_at = "";
			shim.autoremove = 1; /* no state to write: the container's is its keeper's */
		} else if (!strcmp(op, "logmax")) { /* bytes */
			shim.log_max = num();
		} else if (!strcmp(op, "logfiles")) { /* n: the container's directory on the sync socket, after the keeper's files */
			shim.log_files = (int)num();
			shim.log_dir = recv_fd();
		} else if (!strcmp(op, "attach")) { /* pipe: the listening socket on the sync socket, after the keeper's files */
			attach_pipe = (int)num();
			attach_listen = recv_fd();
		} else if (!strcmp(op, "restart")) { /* policy max */
			shim.restart = word();
			shim.restart_max = num();
		} else if (!strcmp(op, "detach")) { /* logdriver started-at autoremove */
			shim.detached = 1;
			shim.log_driver = word();
			shim.started_at = word();
			shim.autoremove = (int)num();
			/* on the sync socket, after the seccomp program: the running lock, state.json
			 * and the log, each received close-on-exec (the command gets none of them) */
			shim.running_fd = recv_fd();
			shim.state_fd = recv_fd();
			shim.log_fd = recv_fd();
		} else if (!strcmp(op, "tap")) { /* address prefix gateway mtu: eth0, relayed to the helper */
			const char *addr = word();
			int prefix = (int)num();
			const char *gw = word();
			make_tap(addr, prefix, gw, (int)num());
			relay_sock = recv_fd(); /* on the sync socket, after the keeper's files */
			if (fcntl(relay_sock, F_SETFL, 0) < 0)
				die("set up the network relay: %s", strerror(errno));
		} else if (!strcmp(op, "loopback")) { /* lo up in the container's own network namespace */
			int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (s < 0)
				die("socket: %s", strerror(errno));
			if_up(s, "lo");
			close(s);
		} else if (!strcmp(op, "network")) { /* hub bridge peer addr prefix gateway; its locks come on the sync socket */
			const char *hub = word(), *bridge = word(), *peer = word(), *addr = word();
			int prefix = (int)num();
			const char *gw = word();
			recv_fd(); /* the hub's lock, held shared: the hub stays while this container runs */
			recv_fd(); /* the address's lease, held */
			join_network(hub, bridge, peer, addr, prefix, gw);
		} else if (!strcmp(op, "cgroupns")) { /* skiff has moved this process into the container's cgroup */
			if (unshare(CLONE_NEWCGROUP) < 0)
				die("create a cgroup namespace: %s", strerror(errno));
		} else if (!strcmp(op, "oomfile")) { /* the cgroup's memory.oom_control, on the sync socket after hold's */
			shim.oom_fd = recv_fd();
		} else if (!strcmp(op, "hold")) { /* a descriptor held for life: slirp4netns's exit pipe */
			recv_fd(); /* close-on-exec: the command does not get it */
		} else if (!strcmp(op, "netns")) { /* path: join that network namespace (container:NAME) */
			const char *path = word();
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				die("join the network namespace %s: %s (is the container still running?)", path, strerror(errno));
			close(fd);
		} else if (!strcmp(op, "env")) {
			env = realloc(env, (nenv + 2) * sizeof(char *));
			env[nenv++] = (char *)word();
			env[nenv] = NULL;
		} else if (!strcmp(op, "arg")) {
			args = realloc(args, (nargs + 2) * sizeof(char *));
			args[nargs++] = (char *)word();
			args[nargs] = NULL;
		} else {
			die("plan: unknown step %s (skiff and skiff-init versions differ?)", op);
		}
	}
	if (root_fd < 0 && !joined)
		die("plan names no root file system");
	if (nargs == 0)
		die("no command: give one after the image name, or set CMD/ENTRYPOINT in the image");
	if (rootro && sys_mount_setattr(root_fd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY) < 0)
		die("make the root file system read-only: %s", strerror(errno));

	trace("mounts");
	/* 3. pivot_root into the container and drop the old root (exec: joining its mount
	 * namespace put us at its root already) */
	if (!joined) {
		if (fchdir(root_fd) < 0)
			die("enter %s: %s", rootfs, strerror(errno));
		if (sys_pivot_root(".", ".") < 0)
			die("pivot_root into %s: %s", rootfs, strerror(errno));
		if (umount2(".", MNT_DETACH) < 0)
			die("detach the old root: %s", strerror(errno));
		if (chdir("/") < 0)
			die("chdir /: %s", strerror(errno));
		close(root_fd);
	}

	trace("pivot");
	/* 4. hostname, terminal, working directory */
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		die("set hostname %s: %s", hostname, strerror(errno));
	int master = -1, slave = -1;
	if (tty) {
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		int unlock = 0, n = -1;
		if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
			die("open a terminal in the container: %s", strerror(errno));
		char name[64];
		snprintf(name, sizeof name, "/dev/pts/%d", n);
		slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0)
			die("open %s: %s", name, strerror(errno));
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		if (rows > 0 && cols > 0)
			ioctl(slave, TIOCSWINSZ, &ws);
		/* best effort: the uid may be unmapped, and the command holds the terminal open anyway */
		if (c.set_creds && fchown(slave, c.uid, -1) < 0)
			errno = 0;
		if (!shim.detached) {
			send_fd(master);
			close(master);
			master = -1;
		}
	}
	{
		int d = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d < 0 || fchdir(d) < 0)
			die("working directory %s: %s", cwd, strerror(errno));
		close(d);
	}

	trace("tty-cwd");
	/* 5. seccomp, capabilities, user */
	drop_privileges(&c, lastcap, prog, nprog, have_prog);
	trace("privileges");
	if (!shim.detached)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* cleared by the uid change above */
	/* the container's processes may not reach into this one (/proc/1/fd: the keeper's
	 * files) without CAP_SYS_PTRACE */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* 6. the command (a detached container's output goes through the keeper, to its log) */
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	if (shim.detached && !tty && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0))
		die("pipe for the container's log: %s", strerror(errno));
	if (attach_listen >= 0 && tty) {
		/* the keeper must not wait on a terminal whose command reads nothing */
		if (fcntl(master, F_SETFL, O_NONBLOCK) < 0)
			die("set up the container's terminal: %s", strerror(errno));
		attach_in = attach_tty = master;
	} else if (attach_listen >= 0 && attach_pipe) {
		/* -i: stdin stays open for attach; the keeper holds both ends, so a restarted
		 * command gets the same pipe */
		if (pipe2(inp, O_CLOEXEC) < 0 || fcntl(inp[1], F_SETFL, O_NONBLOCK) < 0)
			die("pipe for the container's stdin: %s", strerror(errno));
		attach_in = inp[1];
	}
	struct spawn sp = { .tty = tty, .slave = slave, .keep_stdin_open = keep_stdin_open, .in_fd = inp[0], .out_fd = outp[1], .err_fd = errp[1],
		.env = env, .args = args };
	pid_t child = spawn(&sp);
	if (child < 0)
		die("start the command: %s", strerror(errno));
	if (slave >= 0)
		close(slave);
	trace("exec");
	if (sp.err) {
		int st;
		waitpid(child, &st, 0);
		if (sp.stage)
			die_code(125, "%s: %s", sp.stage, strerror(sp.err));
		if (sp.err == ENOENT)
			die_code(127, "executable file %s not found in $PATH: %s", args[0], strerror(sp.err));
		die_code(126, "%s cannot be executed: %s", args[0], strerror(sp.err));
	}
	{
		char msg[32];
		snprintf(msg, sizeof msg, "S%d", (int)child);
		send_msg(msg);
	}

	if (shim.detached) {
		if (outp[1] >= 0) {
			close(outp[1]);
			close(errp[1]);
		}
		shim_loop(child, tty ? master : outp[0], tty ? -1 : errp[0], &sp);
	}

	/* 7. PID 1: forward signals, reap, exit with the command's status */
	sigset_t fwd;
	sigfillset(&fwd);
	int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(child, SIGKILL);
		die("signalfd: %s", strerror(errno));
	}
	struct pollfd pfd[4] = { { .fd = sfd, .events = POLLIN }, { .fd = sync_fd, .events = 0 } };
	for (;;) {
		int np = relay_poll(pfd, 2);
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			kill(child, SIGKILL);
			_exit(125);
		}
		if (pfd[1].revents & (POLLHUP | POLLERR)) {
			/* skiff is gone: a foreground container does not outlive it */
			kill(-1, SIGKILL);
			_exit(137);
		}
		relay_serve(pfd, 2, np);
		if (!(pfd[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		if (si.ssi_signo != SIGCHLD) {
			kill(child, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			int st;
			pid_t p = waitpid(-1, &st, WNOHANG);
			if (p <= 0)
				break;
			if (p == child) {
				/* tell skiff the status first: it tears down while the kernel takes the
				 * namespaces apart after our exit */
				char msg[16];
				int code = exit_code(st);
				snprintf(msg, sizeof msg, "X%d", code);
				send(sync_fd, msg, strlen(msg), MSG_NOSIGNAL);
				_exit(code);
			}
		}
	}
}
