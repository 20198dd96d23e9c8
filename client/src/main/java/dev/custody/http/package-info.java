/**
 * HTTP exchanges with peers we do not trust: one deadline for headers and body, bodies read into a
 * bounded buffer.
 */
package dev.custody.http;
