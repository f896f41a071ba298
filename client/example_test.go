package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/swoll-dev/swoll/client"
	"github.com/swoll-dev/swoll/event"
)

// Print every file the pods labelled app=web open for a minute, with the pod and the result.
func ExampleRun() {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = client.Run(ctx, client.Options{
		Config:        cfg,
		Namespace:     "shop",
		LabelSelector: "app=web",
		Syscalls:      []string{"openat"},
		Duration:      time.Minute,
		Log:           os.Stderr, // progress and the summary, as kubectl swoll prints them
	}, client.Handler{
		Event: func(ev *event.Event) error {
			var args struct{ Pathname string }
			if err := json.Unmarshal(ev.Args, &args); err != nil {
				return err
			}
			fmt.Printf("%s/%s %s %q = %d %s\n", ev.Container.Namespace, ev.Container.Pod, ev.Syscall.Name, args.Pathname,
				ev.Return, ev.Error)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Count the failed network calls of one pod until 100 have been seen, reading a channel; notices say when each
// node's agent is ready and whether the kernel dropped events.
func ExampleStart() {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		log.Fatal(err)
	}
	s := client.Start(context.Background(), client.Options{
		Config:    cfg,
		Namespace: "shop",
		Pods:      []string{"checkout-7d9f-abcde"},
		Syscalls:  []string{"class:Network"},
		MaxEvents: 100,
	})
	failed := map[string]int{}
	for m := range s.C {
		switch {
		case m.Notice != nil && m.Notice.Kind == event.NoticeLost:
			log.Printf("%s: the kernel dropped %d events", m.Notice.Node, m.Notice.Lost)
		case m.Event != nil && m.Event.Error != "OK":
			failed[m.Event.Syscall.Name+" "+m.Event.Error]++
		}
	}
	if err := s.Wait(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(failed)
}
