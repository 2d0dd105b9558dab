// Package httpapi serves tidings' REST API with chi: POST and PATCH run
// commands, GETs read the views. Every endpoint but sign-up and the health
// checks needs a bearer token. Errors are JSON {"error":{"code","message"}}
// with the stable codes of package domain. Request bodies are bounded
// (MaxBodyBytes) and decoded strictly. Message text and tokens are never
// logged.
package httpapi
