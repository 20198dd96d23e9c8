/** C2SP tlog-tiles and the checkpoint, as routes on the log's HTTP port. */
package dev.custody.server.tiles;
