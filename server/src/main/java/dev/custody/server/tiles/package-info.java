/** The HTTP port: C2SP tlog-tiles, the checkpoint, metrics, and the explorer's pages, on Netty. */
package dev.custody.server.tiles;
