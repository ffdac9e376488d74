//go:build !exclude_graphdriver_btrfs && linux

package register

import (
	// register the btrfs graphdriver
	_ "github.com/containers/storage/drivers/btrfs"
)
