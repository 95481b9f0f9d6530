// Package sip owns Switchboard's SIP side: the sipgo transports, request
// validation, the registrar with its digest authentication and bindings, and
// (later) the forking proxy and call table.
//
// It must not import store, admin, voicemail or provisioning: it declares the
// small interfaces it needs (PhoneDirectory, BindingStore) and the root package
// wires concrete types into them.
//
// The sipgo message package is imported as gosip to keep this package's name.
package sip
