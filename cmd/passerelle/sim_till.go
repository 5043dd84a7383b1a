package main

import (
	"context"
	"errors"
	"io"
)

func simTill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("sim till: being written")
}
