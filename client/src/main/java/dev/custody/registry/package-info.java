/**
 * OCI registries: image references as Docker reads them, logins from the Docker config, a small
 * distribution API client (manifests, blobs, the referrers API and its tag-schema fallback) and
 * Custody's bundles attached to images as OCI 1.1 referrers. JDK HTTP and Jackson only, so that an
 * offline verifier can read attached bundles without gRPC. See docs/design/registries.md.
 */
package dev.custody.registry;
