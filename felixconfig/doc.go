// Package felixconfig resolves the FelixConfiguration resources that apply
// to one node into the settings this daemon applies live, with Calico's
// precedence: for each setting, the first place that gives a value wins —
//
//  1. the daemon's own configuration (flag, environment variable or
//     config-file key, when given explicitly), as Calico's environment
//     variables and felix config file win over the datastore;
//  2. FelixConfiguration node.<nodename>;
//  3. FelixConfiguration default;
//  4. the daemon's default for the setting.
//
// Resolve is pure: it reads resources and returns the effective Settings,
// where each value came from, and what was set but is not applied here
// (Calico fields with no meaning on Docker, and our own fields the daemon
// keeps as start-up settings). The daemon subscribes to FelixConfiguration
// in the cache, resolves on every change and hands the result to felix
// (felix.Settings), routing (routing.TunnelSettings) and the log level.
package felixconfig
