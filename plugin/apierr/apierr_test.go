package apierr

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestMessage(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web", errors.New("no RBAC policy matched"))
	silent := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 500, Reason: metav1.StatusReasonInternalError}}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"the server's error", forbidden, `pods "web" is forbidden: no RBAC policy matched`},
		{"wrapped with %w", fmt.Errorf("creating agent job j: %w", fmt.Errorf("dry run: %w", forbidden)), `pods "web" is forbidden: no RBAC policy matched`},
		{"no message from the server", fmt.Errorf("listing pods: %w", silent), "listing pods: "},
		{"no API error", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), "dial tcp 127.0.0.1:1: connect: connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Message(tt.err); got != tt.want {
				t.Errorf("Message = %q, want %q", got, tt.want)
			}
		})
	}
}
