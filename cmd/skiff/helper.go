package main

import "github.com/skiff-project/skiff/pkg/config"

// HelperPath finds skiff-image: $SKIFF_IMAGE_HELPER, beside this binary, or in libexec.
func HelperPath() (string, error) { return config.Libexec("skiff-image", "SKIFF_IMAGE_HELPER") }
