package upstreamerrors

import "net/http"

// clientBodyFailure is the answer to a request body the client cut short.
func clientBodyFailure(err error) failure {
	return failure{cause: causeClientBodyIncomplete, status: http.StatusBadRequest, err: err}
}
