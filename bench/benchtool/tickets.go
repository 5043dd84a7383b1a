package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/passerelle/passerelle/drivers/tillsim"
)

// tickets prints N tickets of the simulator's generator, one JSON body a
// line, so that an external load client (bench/till-post.lua for wrk)
// posts exactly what `passerelle sim till --seed S --ref-prefix P` posts.
func tickets(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tickets", flag.ContinueOnError)
	n := fs.Int("count", 1000, "how many tickets")
	seed := fs.Uint64("seed", 1, "generator seed")
	prefix := fs.String("ref-prefix", "", "ref prefix; default SIM- and random letters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 0 {
		return fmt.Errorf("tickets: --count must be 0 or more")
	}
	if *prefix == "" {
		*prefix = tillsim.RunPrefix()
	}
	gen := tillsim.NewGenerator(*seed, *prefix)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	for range *n {
		if err := enc.Encode(gen.Next()); err != nil {
			return err
		}
	}
	return w.Flush()
}
