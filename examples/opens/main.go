// Command opens shows which files the selected pods open, using swoll's Go API (package client): a live line per
// file opened, and when the trace ends, the files each container opened most. Nothing is deployed beforehand:
// the session starts its agent pods and removes them when it ends (Ctrl-C, -duration or -max-events).
//
//	go run ./examples/opens -n shop -l app=web -duration 30s
//
// It needs what kubectl swoll needs (see the README): a kubeconfig whose user has deploy/rbac.yaml's roles in the
// namespace, whose Pod Security level is privileged.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/swoll-dev/swoll/client"
	"github.com/swoll-dev/swoll/event"
)

func main() {
	var (
		kubeconfig = flag.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
		namespace  = flag.String("n", "", "namespace of the pods (default: the kubeconfig's)")
		selector   = flag.String("l", "", "label selector of the pods")
		duration   = flag.Duration("duration", 0, "stop after tracing this long (0: until Ctrl-C)")
		maxEvents  = flag.Uint64("max-events", 0, "stop after this many files opened (0: no limit)")
		image      = flag.String("image", "", "agent image (default: the one this swoll version ships)")
		top        = flag.Int("top", 5, "files per container in the closing table")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *kubeconfig, *namespace, client.Options{
		Pods: flag.Args(), LabelSelector: *selector, Duration: *duration, MaxEvents: *maxEvents, Image: *image,
		Syscalls: []string{"open", "openat", "openat2"}, Log: os.Stderr,
	}, *top); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, namespace string, opts client.Options, top int) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	var err error
	if opts.Config, err = kc.ClientConfig(); err != nil {
		return err
	}
	if opts.Namespace = namespace; namespace == "" {
		if opts.Namespace, _, err = kc.Namespace(); err != nil {
			return err
		}
	}
	counts := map[string]map[string]int{} // container -> path -> opens
	start := time.Now()
	err = client.Run(ctx, opts, client.Handler{
		Event: func(ev *event.Event) error {
			var args struct {
				Pathname string `json:"pathname"`
			}
			if err := json.Unmarshal(ev.Args, &args); err != nil {
				return err
			}
			who := ev.Node + " " + ev.Container.Namespace + "/" + ev.Container.Pod + "[" + ev.Container.Name + "]"
			if counts[who] == nil {
				counts[who] = map[string]int{}
			}
			counts[who][args.Pathname]++
			result := "ok"
			if ev.Error != "OK" {
				result = ev.Error
			}
			// %q: paths come from the traced programs and may hold control bytes
			fmt.Printf("%s %s %s %q %s\n", who, ev.Comm, ev.Syscall.Name, args.Pathname, result)
			return nil
		},
	})
	printTop(counts, top, time.Since(start))
	return err
}

// printTop writes, per container, the files it opened most.
func printTop(counts map[string]map[string]int, top int, took time.Duration) {
	whos := make([]string, 0, len(counts))
	for w := range counts {
		whos = append(whos, w)
	}
	sort.Strings(whos)
	fmt.Printf("\nfiles opened most, per container, in %s:\n", took.Round(time.Second))
	for _, w := range whos {
		paths := make([]string, 0, len(counts[w]))
		for p := range counts[w] {
			paths = append(paths, p)
		}
		sort.Slice(paths, func(i, j int) bool {
			if a, b := counts[w][paths[i]], counts[w][paths[j]]; a != b {
				return a > b
			}
			return paths[i] < paths[j]
		})
		fmt.Println(w)
		for i, p := range paths {
			if i == top {
				break
			}
			fmt.Printf("  %6d  %q\n", counts[w][p], p)
		}
	}
}
