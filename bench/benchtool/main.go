// Command benchtool holds the helpers of the bench scripts that a shell
// does badly: writing many pairing codes or tickets straight into a data
// directory, holding event streams open, timing a gateway's start, and
// reading a process's memory and CPU from /proc. It is not shipped.
//
//	benchtool codes --data DIR --count N
//	benchtool seed --data DIR --tickets N [--concurrency C]
//	benchtool sse --url URL --key KEY --clients N --for D
//	benchtool startup --bin PASSERELLE --data DIR [--runs 5]
//	benchtool proc --pid PID --for D [--every 1s]
//	benchtool tickets --count N [--seed S] [--ref-prefix P]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "benchtool:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchtool codes|seed|sse|startup|proc|compact|tickets [flags]")
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"codes": codes, "seed": seed, "sse": sse, "startup": startup, "proc": proc, "compact": compact, "tickets": tickets,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (codes, seed, sse, startup, proc, compact, tickets)", args[0])
	}
	return cmd(ctx, args[1:], out)
}
