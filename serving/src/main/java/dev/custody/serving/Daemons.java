package dev.custody.serving;

import java.util.concurrent.ThreadFactory;

/**
 * Threads that never keep the JVM alive: every pool of ours is closed by its owner, and a pool a
 * failed start leaves behind must not hold the process open.
 */
public final class Daemons {
  private Daemons() {}

  /** Daemon threads, each named {@code name}. */
  public static ThreadFactory named(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** Starts {@code work} on a daemon thread of its own. */
  public static Thread start(String name, Runnable work) {
    Thread t = named(name).newThread(work);
    t.start();
    return t;
  }
}
