package io.egressgateway.core.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where zonky unpacks the bundled PostgreSQL binaries ({@code <tmpdir>/embedded-pg/PG-<digest>/}), and the removal
 * of a copy whose unpacking never finished.
 *
 * <p>zonky marks a finished copy with a {@code .exists} file written after the last binary. When a member is killed
 * half-way through (a container's first start on a node), the next start finds the directory without the mark and
 * unpacks again, but keeps every file that already exists, truncated ones included: {@code initdb} then fails on
 * every restart until the directory goes. So an unmarked copy that nobody is unpacking right now (its
 * {@code epg-lock} is free) is removed before the database starts, and unpacked whole again.
 */
final class BundledBinaries {
  private static final Logger log = LoggerFactory.getLogger(BundledBinaries.class);
  static final String FINISHED_MARK = ".exists";
  static final String UNPACK_LOCK = "epg-lock";

  private BundledBinaries() {}

  /** zonky's own choice: {@code ot.epg.working-dir}, else {@code <java.io.tmpdir>/embedded-pg}. */
  static Path workingDirectory() {
    return Path.of(System.getProperty("ot.epg.working-dir",
        Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg").toString()));
  }

  /** Removes every unfinished, unlocked {@code PG-*} copy under {@code workingDir}; returns what it removed. */
  static List<Path> removeUnfinished(Path workingDir) {
    List<Path> removed = new ArrayList<>();
    if (!Files.isDirectory(workingDir)) {
      return removed;
    }
    try (Stream<Path> copies = Files.list(workingDir)) {
      for (Path copy : copies.filter(p -> p.getFileName().toString().startsWith("PG-") && Files.isDirectory(p)).toList()) {
        if (!Files.exists(copy.resolve(FINISHED_MARK)) && !beingUnpacked(copy)) {
          log.warn("journal: the bundled PostgreSQL in {} was never fully unpacked (a start was killed while unpacking);"
              + " removing it so that it is unpacked again", copy);
          LocalPostgres.deleteTree(copy);
          removed.add(copy);
        }
      }
    } catch (IOException e) {
      log.warn("journal: could not look for unfinished PostgreSQL binaries in {}: {}", workingDir, e.getMessage());
    }
    return removed;
  }

  /** True while another process, or this one, holds the copy's unpack lock. */
  private static boolean beingUnpacked(Path copy) {
    Path lockFile = copy.resolve(UNPACK_LOCK);
    if (!Files.exists(lockFile)) {
      return false;
    }
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
      FileLock lock = ch.tryLock();
      if (lock == null) {
        return true;
      }
      lock.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true;
    } catch (IOException e) {
      return true; // cannot tell: leave it
    }
  }
}
