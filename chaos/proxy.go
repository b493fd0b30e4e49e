package main

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP connections from a loopback port to a server, and can cut them: reset every
// connection, stall them (hold the bytes in both directions), or black-hole the port (accept and
// never answer). doppel reaches the servers through proxies, so the chaos runner can cut its
// network the ways a real network fails.
type proxy struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	conns   map[net.Conn]bool
	stalled chan struct{} // closed while traffic flows; a new open one while stalled
	holed   bool          // new connections are accepted and never served
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	flowing := make(chan struct{})
	close(flowing)
	p := &proxy{target: target, ln: ln, conns: map[net.Conn]bool{}, stalled: flowing}
	go p.serve()
	return p, nil
}

func (p *proxy) addr() *net.TCPAddr { return p.ln.Addr().(*net.TCPAddr) }

func (p *proxy) close() {
	_ = p.ln.Close()
	p.reset()
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *proxy) handle(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = true
	holed := p.holed
	p.mu.Unlock()
	defer p.drop(c)
	if holed {
		// Accepted, then silence: the client waits for a handshake that never comes.
		_, _ = io.Copy(io.Discard, c)
		return
	}
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.conns[s] = true
	p.mu.Unlock()
	defer p.drop(s)
	done := make(chan struct{}, 2)
	go func() { p.pipe(s, c); done <- struct{}{} }()
	go func() { p.pipe(c, s); done <- struct{}{} }()
	<-done
}

// pipe copies from src to dst, waiting while the proxy is stalled.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			wait := p.stalled
			p.mu.Unlock()
			<-wait
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = dst.Close()
			return
		}
	}
}

func (p *proxy) drop(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// reset closes every connection through the proxy at once.
func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // an RST, as a cut network or a firewall sends
		}
		_ = c.Close()
	}
}

// stall holds every byte in both directions for d: connections stay open, nothing moves.
func (p *proxy) stall(ctx context.Context, d time.Duration) {
	hold := make(chan struct{})
	p.mu.Lock()
	p.stalled = hold
	p.mu.Unlock()
	sleep(ctx, d)
	p.mu.Lock()
	close(hold)
	flowing := make(chan struct{})
	close(flowing)
	p.stalled = flowing
	p.mu.Unlock()
}

// blackHole cuts the connections and, for d, accepts new ones without ever answering them.
func (p *proxy) blackHole(ctx context.Context, d time.Duration) {
	p.mu.Lock()
	p.holed = true
	p.mu.Unlock()
	p.reset()
	sleep(ctx, d)
	p.mu.Lock()
	p.holed = false
	p.mu.Unlock()
	p.reset() // the held connections end; the clients reconnect and get through
}
