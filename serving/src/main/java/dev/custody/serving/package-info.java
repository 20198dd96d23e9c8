/**
 * What every HTTP endpoint of ours shares against hostile peers: caps on connections per client and
 * in all, and the time a request may take to arrive.
 */
package dev.custody.serving;
