// Command floor serves one constant answer the size of a GET /v1/locate
// answer, in one of two ways, so that wrk can measure what the server loop
// alone costs beside `wangge serve`:
//
//	go run ./cmd/wangge-load/wrk/floor -mode nethttp -addr 127.0.0.1:18090
//	go run ./cmd/wangge-load/wrk/floor -mode loop -addr 127.0.0.1:18091
//
// Both poll an answered connection as `wangge serve` does (api/busypoll),
// for -busy-poll (its default, as wangge's; 0: not at all), and nethttp
// watches for clients going away as wangge does (busypoll's Configure),
// so that each is measured beside wangge with the same connection reading.
//
// nethttp is a bare net/http server (no Gin, no middleware, no lookup): the
// fastest wangge could be while it keeps net/http. loop is a goroutine per
// connection that reads header lines and writes the answer after each blank
// line: the shape of Tile38's server loop, with no HTTP parsing at all. It
// answers every request alike and is not an HTTP server; it exists to be
// measured (floor.sh).
package main

import (
	"bufio"
	"flag"
	"log"
	"net"
	"net/http"
	"strconv"

	"wangge/api/busypoll"
)

// answer is wangge's answer for a point of the demo town (654 bytes).
const answer = `{"point":[112.1,27.25],"crs":"wgs84","match":"inside","distance_m":0,"grid":{"code":"431321101208005","name":"龙吟村第五网格","village":{"code":"431321101208","name":"龙吟村"},"district":{"code":"02","name":"神冲攸永片区"},"town":{"code":"431321101","name":"荷叶镇"}},"leader":{"name":"胡正秀"},"deputy":{"name":"罗光珍"},"organizations":[{"kind":"red_white_council","name":"龙吟村红白喜事理事会"},{"kind":"health_committee","name":"龙吟村爱卫会"},{"kind":"left_behind_children","name":"龙吟村关心留守儿童工作委员会"},{"kind":"mediation","name":"龙吟村纠纷调解会"}],"also":[],"generation":1}`

func main() {
	mode := flag.String("mode", "nethttp", "nethttp (a bare net/http server) or loop (a goroutine per connection, no HTTP parsing)")
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	poll := flag.Duration("busy-poll", busypoll.DefaultBudget, "how long an answered connection is polled for its next request (api/busypoll); 0: not at all")
	flag.Parse()
	tcp, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	poller := busypoll.New(*poll)
	ln := poller.Listen(tcp)
	switch *mode {
	case "nethttp":
		body := []byte(answer)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Type"] = []string{"application/json"}
			w.Write(body)
		})}
		poller.Configure(srv)
		log.Fatal(srv.Serve(ln))
	case "loop":
		response := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(answer)) + "\r\n\r\n" + answer)
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			go serveLoop(c, response)
		}
	default:
		log.Fatalf("-mode %q: want nethttp or loop", *mode)
	}
}

// serveLoop writes response after every blank line c sends, until c
// closes.
func serveLoop(c net.Conn, response []byte) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(line) == 2 && line[0] == '\r' {
			if _, err := c.Write(response); err != nil {
				return
			}
		}
	}
}
