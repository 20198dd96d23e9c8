/**
 * Export of the log as static C2SP tiles to a folder or an S3 bucket, for mirrors that serve it
 * without a server.
 */
package dev.custody.server.export;
