/**
 * Files written durably (write, fsync, rename, fsync the folder) and private key files read only
 * when their owner alone can read them.
 */
package dev.custody.io;
