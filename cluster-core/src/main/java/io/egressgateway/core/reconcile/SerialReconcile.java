package io.egressgateway.core.reconcile;

import akka.actor.typed.javadsl.TimerScheduler;
import java.time.Duration;

/**
 * The reconcile loop every entity runs: one pass at a time, triggers that arrive during a pass folded into
 * one more pass after it, bursts of triggers coalesced by a timer. Owned by one entity and used only from its
 * actor thread (not thread-safe); it holds no decisions, so nothing of it is journaled, and a restarted
 * entity starts idle and asks for a pass itself.
 *
 * <p>The entity still runs the pass itself (on its blocking dispatcher, back through {@code pipeToSelf}):
 * {@link #begin} when a trigger may start one now, {@link #end} when its outcome has arrived, which says
 * whether a trigger came meanwhile. The timer sends the entity's own {@code tick} message.
 *
 * @param <C> the entity's command type
 */
public final class SerialReconcile<C> {
  private static final String TIMER = "serial-reconcile";

  private final TimerScheduler<C> timers;
  private final C tick;
  private final Duration window;
  private boolean running;
  private boolean wanted;

  /**
   * @param timers the entity's timers (the key {@code "serial-reconcile"} is this loop's)
   * @param tick   what the entity receives when a coalesced pass is due
   * @param window how long triggers are collected before a pass ({@link #schedule})
   */
  public SerialReconcile(TimerScheduler<C> timers, C tick, Duration window) {
    this.timers = timers;
    this.tick = tick;
    this.window = window;
  }

  /** A loop without a coalescing timer: triggers start a pass at once when none runs. */
  public static <C> SerialReconcile<C> immediate() {
    return new SerialReconcile<>(null, null, Duration.ZERO);
  }

  /** Asks for a pass after the coalescing window; triggers within it share the pass. */
  public void schedule() {
    scheduleIn(window);
  }

  /** Asks for a pass after {@code delay} (a retry), unless a pass is already due earlier or at all. */
  public void scheduleIn(Duration delay) {
    if (timers == null) {
      throw new IllegalStateException("this loop has no timer");
    }
    if (!timers.isTimerActive(TIMER)) {
      timers.startSingleTimer(TIMER, tick, delay);
    }
  }

  /** Whether a pass (or other work the entity runs through the loop) is in flight. */
  public boolean running() {
    return running;
  }

  /** Whether a pass was asked for and has not started yet. */
  public boolean wanted() {
    return wanted;
  }

  /** Notes that a pass is wanted; it starts at the next {@link #beginIfWanted} (or {@link #end}'s answer). */
  public void want() {
    wanted = true;
  }

  /**
   * A trigger: returns true when nothing runs, and the caller starts its pass now; otherwise the trigger is
   * remembered for after the running pass and false is returned.
   */
  public boolean begin() {
    if (running) {
      wanted = true;
      return false;
    }
    running = true;
    wanted = false;
    return true;
  }

  /** Starts a pass if one is wanted and nothing runs; says whether the caller starts it now. */
  public boolean beginIfWanted() {
    return wanted && begin();
  }

  /**
   * Other serial work than a full pass starts (it keeps the loop busy but leaves a wanted pass wanted).
   * Returns false, starting nothing, when something runs already.
   */
  public boolean occupy() {
    if (running) {
      return false;
    }
    running = true;
    return true;
  }

  /** The running work's outcome arrived: the loop is idle. Returns whether a pass is wanted now. */
  public boolean end() {
    running = false;
    return wanted;
  }
}
