//go:build dfparents

package instructions

func init() {
	parentsEnabled = true
}
