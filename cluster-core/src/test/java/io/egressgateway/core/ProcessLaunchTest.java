package io.egressgateway.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Members start their commands with vfork unless the operator chose a launch mechanism. */
class ProcessLaunchTest {
  private static final String KEY = ProcessLaunch.MECHANISM;

  @Test
  void vforkIsTheDefaultAndAnExplicitChoiceWins() {
    String before = System.getProperty(KEY);
    try {
      System.clearProperty(KEY);
      ProcessLaunch.useVfork();
      assertEquals("VFORK", System.getProperty(KEY));
      System.setProperty(KEY, "POSIX_SPAWN");
      ProcessLaunch.useVfork();
      assertEquals("POSIX_SPAWN", System.getProperty(KEY));
    } finally {
      if (before == null) {
        System.clearProperty(KEY);
      } else {
        System.setProperty(KEY, before);
      }
    }
  }
}
