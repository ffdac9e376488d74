//go:build skiff_image

// This file is built into the skiff-image helper only (make builds it with -tags skiff_image):
// the commands that need containers/image. The skiff binary has stubs that exec the helper.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containers/image/v5/types"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/store"
	"github.com/skiff-project/skiff/pkg/transfer"
)

func registryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates (--tls-verify=false allows plain HTTP)"},
		&cli.StringFlag{Name: "creds", Usage: "USER[:PASSWORD] for the registry"},
		&cli.StringFlag{Name: "authfile", Usage: "auth file (default $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)"},
		&cli.StringFlag{Name: "cert-dir", Usage: "directory with the registry's CA and client certificates"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
	}
}

func transferOptions(c *cli.Context, st *store.Store) transfer.Options {
	o := transfer.Options{Store: st, Creds: c.String("creds"), AuthFile: c.String("authfile"), CertDir: c.String("cert-dir"),
		Platform: c.String("platform"), Quiet: c.Bool("quiet"), Report: os.Stderr}
	if c.IsSet("tls-verify") {
		o.TLSVerify = types.NewOptionalBool(c.Bool("tls-verify"))
	}
	return o
}

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "pull an image from a registry",
		ArgsUsage: "IMAGE",
		Flags: append(registryFlags(),
			&cli.StringFlag{Name: "platform", Usage: "OS/ARCH[/VARIANT] to pick from a manifest list"},
			&cli.BoolFlag{Name: "all-tags", Aliases: []string{"a"}, Usage: "pull every tag of the repository"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff pull needs one image, e.g. skiff pull 127.0.0.1:5000/app:1"}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			o := transferOptions(c, st)
			if c.Bool("all-tags") {
				ids, err := transfer.PullAllTags(o, c.Args().First())
				for _, id := range ids {
					fmt.Println(id)
				}
				return err
			}
			id, _, err := transfer.Pull(o, c.Args().First())
			if err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		},
	}
}

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "push an image to a registry",
		ArgsUsage: "IMAGE [DESTINATION]",
		Flags: append(registryFlags(),
			&cli.StringFlag{Name: "digestfile", Usage: "write the pushed manifest's digest to this file"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "manifest format: oci or v2s2"},
			&cli.StringFlag{Name: "compression-format", Usage: "layer compression: gzip or zstd"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return &usageError{"skiff push needs an image and optionally a destination"}
			}
			st, img, err := openImage(c)
			if err != nil {
				return err
			}
			defer st.Close()
			full := fullNameFor(img, c.Args().First())
			dest := c.Args().Get(1)
			if dest == "" && full == "" {
				return fmt.Errorf("image %s has no name to push to: give a destination, e.g. skiff push %s REGISTRY/NAME:TAG", c.Args().First(), c.Args().First())
			}
			_, err = transfer.Push(transferOptions(c, st), transfer.PushOptions{Format: c.String("format"),
				Compression: c.String("compression-format"), DigestFile: c.String("digestfile")}, c.Args().First(), full, dest)
			return err
		},
	}
}

// fullNameFor picks the stored name of img that the user meant by ref.
func fullNameFor(img *store.Image, ref string) string {
	if cands, err := image.Candidates(ref); err == nil {
		for _, c := range cands {
			for _, n := range img.Names {
				if n == c {
					return n
				}
			}
		}
	}
	if len(img.Names) > 0 {
		return img.Names[0]
	}
	return ""
}

func saveCommand() *cli.Command {
	return &cli.Command{
		Name:      "save",
		Usage:     "save images to an archive",
		ArgsUsage: "IMAGE...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "file (default: standard output)"},
			&cli.StringFlag{Name: "format", Value: "docker-archive", Usage: "docker-archive, oci-archive or oci-dir"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff save needs at least one image"}
			}
			out := c.String("output")
			if out == "" && term.IsTerminal(int(os.Stdout.Fd())) {
				return fmt.Errorf("refusing to write an archive to a terminal: use -o FILE or redirect the output")
			}
			if out == "" && c.String("format") == "oci-dir" {
				return fmt.Errorf("--format oci-dir needs -o DIRECTORY")
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			var images []transfer.SaveImage
			for _, ref := range c.Args().Slice() {
				img, err := st.LookupImage(ref)
				if err != nil {
					return err
				}
				name := fullNameFor(img, ref)
				if image.LooksLikeID(ref) && strings.HasPrefix(img.ID, strings.TrimPrefix(ref, "sha256:")) {
					name = ""
				}
				images = append(images, transfer.SaveImage{Name: name, ID: img.ID})
			}
			o := transfer.Options{Store: st, Quiet: true}
			path := out
			if out == "" {
				dir, err := st.Scratch()
				if err != nil {
					return err
				}
				f, err := os.CreateTemp(dir, "save-*.tar")
				if err != nil {
					return err
				}
				f.Close()
				os.Remove(f.Name())
				path = f.Name()
				defer os.Remove(path)
			} else if _, err := os.Stat(out); err == nil && c.String("format") != "oci-dir" {
				if err := os.Remove(out); err != nil {
					return fmt.Errorf("replace %s: %w", out, err)
				}
			}
			if err := transfer.Save(o, images, c.String("format"), path); err != nil {
				return err
			}
			if out == "" {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(os.Stdout, f)
				return err
			}
			return nil
		},
	}
}

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "load images from an archive (docker-archive, oci-archive or oci-dir)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "archive or OCI directory (default: standard input)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: func(c *cli.Context) error {
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			in := c.String("input")
			if in == "" {
				if term.IsTerminal(int(os.Stdin.Fd())) {
					return &usageError{"skiff load needs -i ARCHIVE or an archive on standard input"}
				}
				dir, err := st.Scratch()
				if err != nil {
					return err
				}
				f, err := os.CreateTemp(dir, "load-*.tar")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				if _, err := io.Copy(f, os.Stdin); err != nil {
					f.Close()
					return fmt.Errorf("read the archive from standard input: %w", err)
				}
				f.Close()
				in = f.Name()
			}
			loaded, err := transfer.Load(transfer.Options{Store: st, Quiet: true}, in)
			for _, l := range loaded {
				if len(l.Names) == 0 {
					fmt.Println("Loaded image: sha256:" + l.ID)
				}
				for _, n := range l.Names {
					fmt.Println("Loaded image: " + n)
				}
			}
			return err
		},
	}
}

func loginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "log in to a registry",
		ArgsUsage: "REGISTRY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user name"},
			&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "password (prefer --password-stdin)"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from standard input"},
			&cli.StringFlag{Name: "authfile", Usage: "auth file (default $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)"},
			&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "require HTTPS and verify certificates"},
			&cli.StringFlag{Name: "cert-dir", Usage: "directory with the registry's CA certificate"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff login needs one registry, e.g. skiff login 127.0.0.1:5000"}
			}
			pass := c.String("password")
			if c.Bool("password-stdin") {
				if pass != "" {
					return &usageError{"--password and --password-stdin are exclusive"}
				}
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<16))
				if err != nil {
					return err
				}
				pass = strings.TrimRight(string(b), "\r\n")
			}
			o := transfer.Options{AuthFile: c.String("authfile"), CertDir: c.String("cert-dir")}
			if c.IsSet("tls-verify") {
				o.TLSVerify = types.NewOptionalBool(c.Bool("tls-verify"))
			}
			if _, err := transfer.Login(o, c.Args().First(), c.String("username"), pass); err != nil {
				return err
			}
			fmt.Println("Login Succeeded!")
			return nil
		},
	}
}

func logoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "remove the credentials of a registry",
		ArgsUsage: "REGISTRY",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all credentials"},
			&cli.StringFlag{Name: "authfile", Usage: "auth file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 && !c.Bool("all") {
				return &usageError{"skiff logout needs a registry (or --all)"}
			}
			o := transfer.Options{AuthFile: c.String("authfile")}
			if err := transfer.Logout(o, c.Args().First(), c.Bool("all")); err != nil {
				return err
			}
			if c.Bool("all") {
				fmt.Println("Removed login credentials for all registries")
			} else {
				fmt.Println("Removed login credentials for " + c.Args().First())
			}
			return nil
		},
	}
}

// transferCommands are the real commands in the helper.
