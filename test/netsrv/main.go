// Command netsrv is the network tests' server and client, run inside and
// outside the sandbox; it exists so that the tests do not depend on the
// quirks of nc or socat builds.
//
//	netsrv listen tcp|udp PORT     print "ready", answer one connection or
//	                               datagram with "hello PROTO", then wait
//	                               for the client to finish, exit 0
//	netsrv dial tcp|udp HOST:PORT  print the first line the server sends
//	                               (udp: after sending one datagram)
//
// The server waits for its client before exiting because the sandbox ends
// with it: a forwarder still copying the reply would be cut off.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// bound only keeps a broken test from hanging; it is no performance limit.
const bound = 30 * time.Second

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: netsrv listen|dial tcp|udp PORT|HOST:PORT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "listen":
		err = listen(os.Args[2], os.Args[3])
	case "dial":
		err = dial(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netsrv:", err)
		os.Exit(1)
	}
}

func listen(proto, port string) error {
	reply := []byte("hello " + proto + "\n")
	if proto == "udp" {
		c, err := net.ListenPacket("udp", ":"+port)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		c.SetDeadline(time.Now().Add(bound))
		buf := make([]byte, 1500)
		_, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if _, err = c.WriteTo(reply, from); err != nil {
			return err
		}
		// The client's "done" says the reply arrived.
		_, _, err = c.ReadFrom(buf)
		return err
	}
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	l.(*net.TCPListener).SetDeadline(time.Now().Add(bound))
	c, err := l.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(bound))
	if _, err = c.Write(reply); err != nil {
		return err
	}
	// Until the client closes: then the reply has arrived.
	_, err = io.Copy(io.Discard, c)
	return err
}

func dial(proto, addr string) error {
	c, err := net.DialTimeout(proto, addr, bound)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(bound))
	if proto == "udp" {
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	if proto == "udp" {
		c.Write([]byte("done"))
	}
	return nil
}
