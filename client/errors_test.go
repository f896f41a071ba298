package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/preflight"
)

// forbiddenTimeout bounds a session that must fail at its first requests.
const forbiddenTimeout = time.Minute

// A refusal of the API server reaches a Go caller as itself: apierrors.IsForbidden holds for Run's error, whether
// the server refused a request (403, through client-go's decoding of its Status) or its access review denied one
// before anything was created; the error's text is the one line kubectl swoll prints.
func TestForbiddenReachesTheCaller(t *testing.T) {
	for _, tt := range []struct {
		name string
		// reviews is the server's answer to access reviews: nil refuses them with 403 too (then the session
		// goes ahead and its requests meet the refusal)
		reviews  *authorizationv1.SubjectAccessReviewStatus
		want     string
		wantPre  bool // a preflight refusal
		wantCode int32
	}{
		{name: "the server refuses the requests",
			want: `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "shop"`, wantCode: 403},
		{name: "an access review denies", reviews: &authorizationv1.SubjectAccessReviewStatus{Allowed: false, Reason: "no RBAC policy matched"},
			want: "not allowed to list pods in namespace shop", wantPre: true, wantCode: 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex // the access reviews are concurrent
			var requests []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				requests = append(requests, r.Method+" "+r.URL.Path)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if tt.reviews != nil && strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews") {
					w.WriteHeader(http.StatusCreated)
					_ = json.NewEncoder(w).Encode(&authorizationv1.SelfSubjectAccessReview{
						TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectAccessReview"},
						Status:   *tt.reviews,
					})
					return
				}
				writeForbidden(w, r)
			}))
			defer srv.Close()

			ctx, cancel := context.WithTimeout(context.Background(), forbiddenTimeout)
			defer cancel()
			err := Run(ctx, Options{Config: &rest.Config{Host: srv.URL}, Namespace: "shop", LabelSelector: "app=web"},
				Handler{Event: func(*event.Event) error { return errors.New("no event expected") }})
			if err == nil {
				t.Fatal("Run succeeded against a server that refuses everything")
			}
			mu.Lock()
			t.Logf("Run: %v (requests: %v)", err, requests)
			mu.Unlock()
			if !apierrors.IsForbidden(err) {
				t.Errorf("apierrors.IsForbidden(%q) is false: the chain lost the server's answer", err)
			}
			var st apierrors.APIStatus
			if !errors.As(err, &st) || st.Status().Code != tt.wantCode {
				t.Errorf("errors.As found no API status with code %d in %q", tt.wantCode, err)
			}
			var pre *preflight.Error
			if errors.As(err, &pre) != tt.wantPre {
				t.Errorf("a preflight refusal: %v, want %v", !tt.wantPre, tt.wantPre)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("the error reads %q, want one line with %q", err, tt.want)
			}
		})
	}
}

// writeForbidden answers as an API server whose authorizer refuses user alice everything.
func writeForbidden(w http.ResponseWriter, r *http.Request) {
	// /api/v1/namespaces/shop/pods or /apis/GROUP/VERSION/...: the resource is the last element, the namespace
	// the one after "namespaces"
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	resource, group, ns := parts[len(parts)-1], "", ""
	if parts[0] == "apis" && len(parts) > 1 {
		group = parts[1]
	}
	for i := range parts[:len(parts)-1] {
		if parts[i] == "namespaces" {
			ns = parts[i+1]
		}
	}
	verb := map[string]string{http.MethodGet: "list", http.MethodPost: "create", http.MethodDelete: "delete"}[r.Method]
	why := fmt.Errorf("User \"alice\" cannot %s resource %q in API group %q", verb, resource, group)
	if ns != "" && ns != resource {
		why = fmt.Errorf("%w in the namespace %q", why, ns)
	}
	st := apierrors.NewForbidden(schema.GroupResource{Group: group, Resource: resource}, "", why).Status()
	st.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(&st)
}
