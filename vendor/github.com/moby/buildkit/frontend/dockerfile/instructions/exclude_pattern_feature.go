//go:build dfexcludepatterns

package instructions

func init() {
	excludePatternsEnabled = true
}
