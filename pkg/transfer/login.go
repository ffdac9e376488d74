package transfer

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/pkg/docker/config"
	storageTransport "github.com/containers/image/v5/storage"
	"github.com/containers/image/v5/types"
	"golang.org/x/term"
)

func storeTransportRefByID(o Options, id string) (types.ImageReference, error) {
	return storageTransport.Transport.NewStoreReference(o.Store.S, nil, id)
}

// Login checks the credentials with the registry and stores them in the auth file.
func Login(o Options, registry, user, pass string) (string, error) {
	sys, err := o.SystemContext()
	if err != nil {
		return "", err
	}
	registry = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(registry, "https://"), "http://"), "/")
	if registry == "" {
		return "", fmt.Errorf("skiff login needs a registry, e.g. skiff login 127.0.0.1:5000")
	}
	if user == "" {
		if user, err = readLine("Username: "); err != nil {
			return "", err
		}
	}
	if pass == "" {
		if pass, err = readPassword("Password: "); err != nil {
			return "", err
		}
	}
	if err := docker.CheckAuth(background(), sys, user, pass, registry); err != nil {
		return "", Explain("login to "+registry, err)
	}
	if _, err := config.SetCredentials(sys, registry, user, pass); err != nil {
		return "", fmt.Errorf("store credentials in %s: %w", sys.AuthFilePath, err)
	}
	return sys.AuthFilePath, nil
}

// Logout removes the credentials of a registry (or all of them).
func Logout(o Options, registry string, all bool) error {
	sys, err := o.SystemContext()
	if err != nil {
		return err
	}
	if all {
		return config.RemoveAllAuthentication(sys)
	}
	if err := config.RemoveAuthentication(sys, registry); err != nil {
		return fmt.Errorf("not logged in to %s (%s): %w", registry, sys.AuthFilePath, err)
	}
	return nil
}

func readLine(prompt string) (string, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", fmt.Errorf("no username given: use --username or -u")
	}
	fmt.Fprint(os.Stderr, prompt)
	s, err := bufio.NewReader(os.Stdin).ReadString('\n')
	return strings.TrimSpace(s), err
}

func readPassword(prompt string) (string, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", fmt.Errorf("no password given: use --password-stdin or USER:PASSWORD")
	}
	fmt.Fprint(os.Stderr, prompt)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	return string(b), err
}
