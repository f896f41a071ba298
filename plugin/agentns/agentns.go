// Package agentns finds the agent namespace a person set once, so that --agent-namespace need not be typed
// each time: the SWOLL_AGENT_NAMESPACE environment variable, else an extension of the current kubeconfig
// context (per cluster, as kubectl plugins keep their settings):
//
//	contexts:
//	- name: prod
//	  context:
//	    cluster: prod
//	    user: alice
//	    extensions:
//	    - name: swoll.dev
//	      extension:
//	        agentNamespace: swoll
//
// The functions hold no state and are safe for concurrent use.
package agentns

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// EnvVar names the agent namespace for every command of the shell.
	EnvVar = "SWOLL_AGENT_NAMESPACE"
	// Extension is the name of the kubeconfig context extension; its agentNamespace field names the namespace.
	Extension = "swoll.dev"
	// Suggested is the namespace of the agents' own that the documentation and messages propose.
	Suggested = "swoll"
)

// extension is the context extension's content.
type extension struct {
	AgentNamespace string `json:"agentNamespace"`
}

// FromFlags is Configured for the kubeconfig and context kubectl's flags select, and the process environment.
func FromFlags(flags *genericclioptions.ConfigFlags) (string, error) {
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return "", fmt.Errorf("reading kubeconfig: %w", err)
	}
	name := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		name = *flags.Context
	}
	return Configured(os.Getenv, &raw, name)
}

// Configured returns the agent namespace set in the environment (getenv) or in the extension of the kubeconfig
// context called contextName; "" when neither sets one. A malformed setting is an error that says where it is.
func Configured(getenv func(string) string, config *clientcmdapi.Config, contextName string) (string, error) {
	if ns := strings.TrimSpace(getenv(EnvVar)); ns != "" {
		return ns, check(ns, "$"+EnvVar)
	}
	if config == nil {
		return "", nil
	}
	kctx := config.Contexts[contextName]
	if kctx == nil {
		return "", nil
	}
	obj, ok := kctx.Extensions[Extension]
	if !ok || obj == nil {
		return "", nil
	}
	where := fmt.Sprintf("kubeconfig context %q, extension %s", contextName, Extension)
	u, ok := obj.(*runtime.Unknown)
	if !ok {
		return "", fmt.Errorf("%s: want {agentNamespace: NAME}, have %T", where, obj)
	}
	var ext extension
	if err := json.Unmarshal(u.Raw, &ext); err != nil {
		return "", fmt.Errorf("%s: want {agentNamespace: NAME}: %w", where, err)
	}
	if ext.AgentNamespace == "" {
		return "", nil
	}
	return ext.AgentNamespace, check(ext.AgentNamespace, where)
}

func check(ns, where string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("%s: invalid agent namespace %q: %s", where, ns, strings.Join(errs, "; "))
	}
	return nil
}
