// Package apierr turns an error that holds an API server error into the text a user should see: the server's
// own message, found in the error's chain with errors.As. Callers wrap API errors with %w, so that Go callers
// keep the chain (errors.Is, apierrors.IsForbidden); this package only reads it. Its functions are safe for
// concurrent use.
package apierr

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Message is the server's message of the first API server error in err's chain, or err's text when the chain
// holds none or the server sent no message.
func Message(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		return st.Status().Message
	}
	return err.Error()
}
