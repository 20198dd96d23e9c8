/**
 * Admission: what may enter the log, checked before sequencing (a layer link's format, signature
 * and chain rule; or any bytes in an opaque log), refusals as typed exceptions.
 */
package dev.custody.server.admission;
