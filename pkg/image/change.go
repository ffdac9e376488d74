package image

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ApplyChange applies one Dockerfile-style instruction of `--change` (CMD, ENTRYPOINT, ENV,
// WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL) to cfg, with docker's forms: JSON arrays
// are exec form, anything else for CMD/ENTRYPOINT is shell form (`/bin/sh -c "..."`).
func ApplyChange(cfg *ImageConfig, change string) error {
	change = strings.TrimSpace(change)
	word, rest, _ := strings.Cut(change, " ")
	if i := strings.IndexAny(change, " \t="); i > 0 && change[i] == '=' {
		word, rest = change[:i], change[i+1:]
	}
	rest = strings.TrimSpace(rest)
	bad := func(why string) error {
		return fmt.Errorf("invalid --change %q: %s", change, why)
	}
	switch strings.ToUpper(word) {
	case "CMD", "ENTRYPOINT":
		var argv []string
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &argv); err != nil {
				return bad(`exec form must be a JSON array of strings, e.g. CMD ["sh", "-c", "echo hi"]`)
			}
		} else if rest != "" {
			argv = []string{"/bin/sh", "-c", rest}
		}
		if strings.EqualFold(word, "CMD") {
			cfg.Cmd = argv
		} else {
			cfg.Entrypoint = argv
			cfg.Cmd = nil // docker: setting ENTRYPOINT resets CMD
		}
	case "ENV":
		pairs, err := keyValues(rest)
		if err != nil {
			return bad(err.Error())
		}
		for _, kv := range pairs {
			cfg.Env = SetEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		pairs, err := keyValues(rest)
		if err != nil {
			return bad(err.Error())
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "WORKDIR":
		if !strings.HasPrefix(rest, "/") {
			return bad("WORKDIR needs an absolute path")
		}
		cfg.WorkingDir = rest
	case "USER":
		if rest == "" {
			return bad("USER needs a user name or uid[:gid]")
		}
		cfg.User = rest
	case "EXPOSE":
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range strings.Fields(rest) {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case "VOLUME":
		var vols []string
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &vols); err != nil {
				return bad("VOLUME exec form must be a JSON array")
			}
		} else {
			vols = strings.Fields(rest)
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			cfg.Volumes[v] = struct{}{}
		}
	case "STOPSIGNAL":
		if rest == "" {
			return bad("STOPSIGNAL needs a signal")
		}
		cfg.StopSignal = rest
	default:
		return bad("supported instructions are CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL")
	}
	return nil
}

// keyValues parses `K=V K2="v 2"` or the legacy `K value with spaces`.
func keyValues(s string) ([][2]string, error) {
	if s == "" {
		return nil, fmt.Errorf("needs KEY=VALUE")
	}
	first := strings.Fields(s)[0]
	if !strings.Contains(first, "=") {
		k, v, _ := strings.Cut(s, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("expected KEY=VALUE at %q", s)
		}
		s = v
		var val strings.Builder
		quote := byte(0)
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case c == '\\' && i+1 < len(s) && quote != '\'':
				i++
				val.WriteByte(s[i])
			case quote == 0 && (c == ' ' || c == '\t'):
				goto done
			default:
				val.WriteByte(c)
			}
		}
	done:
		if quote != 0 {
			return nil, fmt.Errorf("unterminated quote")
		}
		out = append(out, [2]string{k, val.String()})
		s = s[i:]
	}
	return out, nil
}

// SetEnv sets key=value in env, replacing an earlier value.
func SetEnv(env []string, key, value string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}
