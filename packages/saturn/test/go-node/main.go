// saturn-go-node: a real Go Ergo node (Ergo v1.999.300, "3.0") that registers on a Saturn server
// through ergo-services/registrar's Saturn client, for @ergo-ts/saturn's mixed-cluster tests.
// Ours (MIT); built in test set-up by scripts/build-saturn.mjs into a cache outside the repo,
// never committed (the client it links is under the Business Source License).
//
// Prints JSON lines on stdout: {"ready":true,"nodes":[...]} once registered, then one line per
// registrar event ({"event":"EventNodeJoined","data":{...}}), and one per stdin command answered.
// Commands (one a line): "nodes", "app NAME" (ResolveApplication), "config ITEM",
// "load" / "start" / "stop-app" (the application "goapp"), "quit".
// With -golden it prints instead one JSON object: Saturn messages encoded by Go's EDF (hex),
// for the golden-byte tests, and exits.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"

	"ergo.services/ergo"
	"ergo.services/ergo/act"
	"ergo.services/ergo/gen"
	"ergo.services/ergo/lib"
	"ergo.services/ergo/net/edf"
	"ergo.services/registrar/saturn"
)

// golden prints the messages of the golden-byte tests as Go's EDF encodes them (one-key maps
// only: Go ranges over a map in random order).
func golden() {
	route := gen.Route{
		Host: "127.0.0.1", Port: 15000, TLS: true,
		HandshakeVersion: gen.Version{Name: "EHS", Release: "R1", License: "MIT"},
		ProtoVersion:     gen.Version{Name: "ENP", Release: "R1", License: "MIT"},
	}
	app := gen.ApplicationRoute{Node: "b@127.0.0.1", Name: "web", Weight: 10,
		Mode: gen.ApplicationModePermanent, State: gen.ApplicationStateRunning}
	messages := map[string]any{
		"handshake":     saturn.MessageHandshake{Salt: "salt", Digest: "d1"},
		"resolve":       saturn.MessageResolve{ID: 7, Name: "b@127.0.0.1"},
		"resolveResult": saturn.MessageResolveResult{ID: 7, Routes: []gen.Route{route}},
		"resolveNoRoute": saturn.MessageResolveResult{ID: 8, Error: gen.ErrNoRoute},
		"register": saturn.MessageRegister{Cluster: "c1", Node: "a@127.0.0.1",
			RegisterRoutes: gen.RegisterRoutes{Routes: []gen.Route{route}, ApplicationRoutes: []gen.ApplicationRoute{app}}},
		"registerResult": saturn.MessageRegisterResult{
			Config: map[string]any{"c1:*:pool": int(8)},
			Nodes:  []gen.Atom{"b@127.0.0.1"}, Applications: []gen.ApplicationRoute{app}},
		"registerTaken": saturn.MessageRegisterResult{Error: gen.ErrTaken},
		"configUpdate":  saturn.MessageConfigUpdate{Item: "*:name", Value: "alpha"},
		"appRoute":      saturn.MessageRegisterApplicationRoute{Route: app},
		"nodeLeft":      saturn.MessageNodeLeft{Node: "b@127.0.0.1"},
	}
	out := map[string]string{}
	for name, m := range messages {
		buf := lib.TakeBuffer()
		if err := edf.Encode(m, buf, edf.Options{}); err != nil {
			out[name] = "error: " + err.Error()
			continue
		}
		out[name] = fmt.Sprintf("%x", buf.B)
	}
	emit(out)
}

var out sync.Mutex

func emit(v any) {
	out.Lock()
	defer out.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	os.Stdout.Write(append(b, '\n'))
}

type watcher struct{ act.Actor }

func (w *watcher) Init(args ...any) error {
	w.Send(w.PID(), "subscribe")
	return nil
}

func (w *watcher) HandleMessage(from gen.PID, message any) error {
	reg, err := w.Node().Network().Registrar()
	if err != nil {
		return err
	}
	ev, err := reg.Event()
	if err != nil {
		return err
	}
	if _, err := w.MonitorEvent(ev); err != nil {
		return err
	}
	emit(map[string]any{"subscribed": ev.Name})
	return nil
}

func (w *watcher) HandleEvent(m gen.MessageEvent) error {
	emit(map[string]any{"event": reflect.TypeOf(m.Message).Name(), "data": m.Message})
	return nil
}

type member struct{ act.Actor }

type goapp struct{}

func (a *goapp) Load(node gen.Node, args ...any) (gen.ApplicationSpec, error) {
	return gen.ApplicationSpec{
		Name:   "goapp",
		Weight: 7,
		Group:  []gen.ApplicationMemberSpec{{Name: "goapp_worker", Factory: func() gen.ProcessBehavior { return &member{} }}},
	}, nil
}
func (a *goapp) Start(mode gen.ApplicationMode) {}
func (a *goapp) Terminate(reason error)         {}

func main() {
	name := flag.String("name", "go@localhost", "node name")
	host := flag.String("host", "localhost", "Saturn host")
	port := flag.Uint("port", 4499, "Saturn port")
	token := flag.String("token", "", "Saturn token")
	cluster := flag.String("cluster", "", "cluster name")
	gold := flag.Bool("golden", false, "print Go's EDF bytes of the golden messages and exit")
	flag.Parse()
	if *gold {
		golden()
		return
	}

	var options gen.NodeOptions
	options.Network.Registrar = saturn.Create(*host, *token, saturn.Options{
		Cluster:            *cluster,
		Port:               uint16(*port),
		InsecureSkipVerify: true,
	})
	options.Network.Cookie = "saturn-test"
	options.Log.Level = gen.LogLevelWarning
	node, err := ergo.StartNode(gen.Atom(*name), options)
	if err != nil {
		emit(map[string]any{"fatal": err.Error()})
		os.Exit(1)
	}
	if _, err := node.Spawn(func() gen.ProcessBehavior { return &watcher{} }, gen.ProcessOptions{}); err != nil {
		emit(map[string]any{"fatal": err.Error()})
		os.Exit(1)
	}
	reg, _ := node.Network().Registrar()
	nodes, _ := reg.Nodes()
	emit(map[string]any{"ready": true, "nodes": nodes})

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		switch cmd {
		case "nodes":
			nodes, err := reg.Nodes()
			emit(map[string]any{"nodes": nodes, "error": errString(err)})
		case "app":
			routes, err := reg.Resolver().ResolveApplication(gen.Atom(arg))
			emit(map[string]any{"app": arg, "routes": routes, "error": errString(err)})
		case "config":
			v, err := reg.ConfigItem(arg)
			emit(map[string]any{"config": arg, "value": v, "error": errString(err)})
		case "load":
			_, err := node.ApplicationLoad(&goapp{})
			emit(map[string]any{"done": "load", "error": errString(err)})
		case "start":
			err := node.ApplicationStart("goapp", gen.ApplicationOptions{})
			emit(map[string]any{"done": "start", "error": errString(err)})
		case "stop-app":
			err := node.ApplicationStop("goapp")
			emit(map[string]any{"done": "stop-app", "error": errString(err)})
		case "quit":
			node.Stop()
			return
		default:
			emit(map[string]any{"error": fmt.Sprintf("unknown command %q", cmd)})
		}
	}
	node.Stop()
}

func errString(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}
