package container

import (
	"slices"
	"testing"

	"github.com/skiff-project/skiff/pkg/network"
)

func TestLinkPorts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []network.Port
		want  []string
	}{
		{"none", nil, nil},
		{"one", []network.Port{{ContainerPort: 8080, Protocol: "tcp"}}, []string{
			"DB_PORT=tcp://10.89.0.2:8080", "DB_PORT_8080_TCP=tcp://10.89.0.2:8080", "DB_PORT_8080_TCP_ADDR=10.89.0.2",
			"DB_PORT_8080_TCP_PORT=8080", "DB_PORT_8080_TCP_PROTO=tcp"}},
		{"lowest first, a range, udp", []network.Port{{ContainerPort: 9000, Protocol: "udp"}, {ContainerPort: 80, Count: 2, Protocol: "tcp"}}, []string{
			"DB_PORT=tcp://10.89.0.2:80",
			"DB_PORT_80_TCP=tcp://10.89.0.2:80", "DB_PORT_80_TCP_ADDR=10.89.0.2", "DB_PORT_80_TCP_PORT=80", "DB_PORT_80_TCP_PROTO=tcp",
			"DB_PORT_81_TCP=tcp://10.89.0.2:81", "DB_PORT_81_TCP_ADDR=10.89.0.2", "DB_PORT_81_TCP_PORT=81", "DB_PORT_81_TCP_PROTO=tcp",
			"DB_PORT_9000_UDP=udp://10.89.0.2:9000", "DB_PORT_9000_UDP_ADDR=10.89.0.2", "DB_PORT_9000_UDP_PORT=9000", "DB_PORT_9000_UDP_PROTO=udp"}},
	} {
		got := linkPortEnv("DB", "10.89.0.2", linkPorts(Info{}, NetState{Ports: tc.ports}, nil))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
