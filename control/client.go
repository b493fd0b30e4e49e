package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ErrCommand is returned by Send, wrapped with doppel's message, when doppel answered with an
// ERROR line.
var ErrCommand = errors.New("doppel refused the command")

// maxAnswer bounds what Send reads; a status is a few hundred bytes.
const maxAnswer = 1 << 20

// Send sends one command to a doppel serving on network ("unix" or "tcp") and address, and returns
// its answer. The answer is returned with an error wrapping ErrCommand when it is an ERROR line.
func Send(ctx context.Context, network, address, command string) (string, error) {
	if strings.ContainsAny(command, "\r\n") {
		return "", errors.New("a command is a single line")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return "", fmt.Errorf("connecting to doppel on %s: %w", address, err)
	}
	defer conn.Close()
	// Unblock the write and the read when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		return "", fmt.Errorf("sending %q to doppel on %s: %w", command, address, ctxOr(ctx, err))
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	b, err := io.ReadAll(io.LimitReader(conn, maxAnswer))
	answer := string(b)
	if err != nil {
		return answer, fmt.Errorf("reading doppel's answer on %s: %w", address, ctxOr(ctx, err))
	}
	if msg, ok := strings.CutPrefix(answer, "ERROR: "); ok {
		return answer, fmt.Errorf("%w: %s", ErrCommand, strings.TrimSpace(msg))
	}
	return answer, nil
}

// ctxOr prefers ctx's error to the deadline error that ending ctx caused.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
