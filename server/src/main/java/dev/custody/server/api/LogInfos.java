package dev.custody.server.api;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.LogKey;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.server.keys.KeyHistory;
import dev.custody.server.storage.StorageException;
import java.util.ArrayList;
import java.util.List;

/** The log's identity as GetLogInfo answers it: the one mapping from our records to the proto. */
public final class LogInfos {
  private LogInfos() {}

  /**
   * The fixed part of GetLogInfo (a cluster adds its role at each call).
   *
   * @param keys every key of the log's history, the signing ones first, in signing order
   */
  public static LogInfo of(
      String origin, String verifierKey, byte[] subjectPublicKeyInfo, List<KeyHistory.Key> keys) {
    return LogInfo.newBuilder()
        .setOrigin(origin)
        .setVerifierKey(verifierKey)
        .setPublicKey(ByteString.copyFrom(subjectPublicKeyInfo))
        .addAllKeys(logKeys(keys))
        .build();
  }

  private static List<LogKey> logKeys(List<KeyHistory.Key> keys) {
    List<LogKey> out = new ArrayList<>();
    for (KeyHistory.Key k : keys) {
      byte[] spki;
      try {
        spki = Ed25519NoteKeys.parseVerifierKey(k.verifierKey()).subjectPublicKeyInfo();
      } catch (NoteException e) {
        throw new StorageException(
            "the store's record of the log's keys holds an unreadable key: " + e.getMessage());
      }
      out.add(
          LogKey.newBuilder()
              .setVerifierKey(k.verifierKey())
              .setPublicKey(ByteString.copyFrom(spki))
              .setAddedUnixMs(k.addedMs())
              .setRetiredUnixMs(k.retiredMs().orElse(0))
              .build());
    }
    return out;
  }
}
