package io.egressgateway.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A copy of the bundled binaries whose unpacking was cut off is removed; finished or busy copies are kept. */
class BundledBinariesTest {
  @TempDir
  Path work;

  private Path copy(String name, boolean finished) throws Exception {
    Path dir = Files.createDirectories(work.resolve(name).resolve("bin"));
    Files.write(dir.resolve("initdb"), new byte[] {0x7f, 'E', 'L'}); // a truncated binary
    if (finished) {
      Files.createFile(dir.getParent().resolve(BundledBinaries.FINISHED_MARK));
    }
    return dir.getParent();
  }

  @Test
  void anUnfinishedCopyNobodyIsUnpackingIsRemovedAndTheOthersStay() throws Exception {
    Path cutOff = copy("PG-aaa", false);
    Files.createFile(cutOff.resolve(BundledBinaries.UNPACK_LOCK)); // left by the killed start, not held
    Path finished = copy("PG-bbb", true);
    Path busy = copy("PG-ccc", false);
    Path other = Files.createDirectories(work.resolve("not-ours"));
    try (FileChannel ch = FileChannel.open(busy.resolve(BundledBinaries.UNPACK_LOCK), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE); FileLock held = ch.lock()) {
      assertTrue(held.isValid());
      assertEquals(List.of(cutOff), BundledBinaries.removeUnfinished(work));
    }
    assertFalse(Files.exists(cutOff));
    assertTrue(Files.exists(finished.resolve("bin/initdb")));
    assertTrue(Files.exists(busy.resolve("bin/initdb")), "a copy being unpacked right now is left alone");
    assertTrue(Files.isDirectory(other));
    assertEquals(List.of(busy), BundledBinaries.removeUnfinished(work), "once its unpacker is gone it goes too");
  }

  @Test
  void aMissingWorkingDirectoryIsNothingToDo() {
    assertEquals(List.of(), BundledBinaries.removeUnfinished(work.resolve("absent")));
  }

  @Test
  void theWorkingDirectoryIsZonkysOwn() {
    String before = System.getProperty("ot.epg.working-dir");
    try {
      System.clearProperty("ot.epg.working-dir");
      assertEquals(Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg"), BundledBinaries.workingDirectory());
      System.setProperty("ot.epg.working-dir", work.toString());
      assertEquals(work, BundledBinaries.workingDirectory());
    } finally {
      if (before == null) {
        System.clearProperty("ot.epg.working-dir");
      } else {
        System.setProperty("ot.epg.working-dir", before);
      }
    }
  }
}
