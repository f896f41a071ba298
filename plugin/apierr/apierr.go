// Package apierr turns API server errors into the text a user should see: the server's own message, without
// client-go's wrapping. Its functions are safe for concurrent use.
package apierr

import apierrors "k8s.io/apimachinery/pkg/api/errors"

// Message is the server's message for err, or err's text when the server did not send one.
func Message(err error) string {
	if st, ok := err.(apierrors.APIStatus); ok && st.Status().Message != "" {
		return st.Status().Message
	}
	return err.Error()
}
