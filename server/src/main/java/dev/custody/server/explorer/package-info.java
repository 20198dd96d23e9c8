/**
 * The log explorer: read-only web pages (and their JSON) over the log and its chain index, proofs
 * checked in the browser. See docs/design/explorer.md.
 */
package dev.custody.server.explorer;
