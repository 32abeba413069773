package io.egressgateway.core.metrics;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * The member's metrics, exposed in Prometheus text format on the management port ({@code GET /metrics}).
 * Deliberately small: counters, gauges and fixed-bucket histograms, each with a fixed list of label names
 * declared up front. Label values must come from small sets (config keys, node names, operation kinds),
 * never per-pod values, so cardinality stays bounded.
 */
public final class Metrics implements Extension {

  private final Map<String, Family> families = new ConcurrentHashMap<>();

  public static Metrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** A registry outside any actor system (tests, the CNI benchmark). */
  public static Metrics standalone() {
    return new Metrics();
  }

  private Metrics() {}

  public Counter counter(String name, String help, String... labelNames) {
    return (Counter) families.computeIfAbsent(name, n -> new Counter(n, help, labelNames));
  }

  public Gauge gauge(String name, String help, String... labelNames) {
    return (Gauge) families.computeIfAbsent(name, n -> new Gauge(n, help, labelNames));
  }

  /** Histogram with the given upper bucket bounds (seconds for latencies). */
  public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
    return (Histogram) families.computeIfAbsent(name, n -> new Histogram(n, help, buckets, labelNames));
  }

  /** All families in Prometheus text exposition format 0.0.4. */
  public String scrape() {
    StringBuilder sb = new StringBuilder();
    new TreeMap<>(families).values().forEach(f -> f.write(sb));
    return sb.toString();
  }

  /** Common shape: a name, help text, label names and one child per label-value tuple. */
  public abstract static class Family {
    final String name;
    final String help;
    final String[] labelNames;

    Family(String name, String help, String[] labelNames) {
      if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
        throw new IllegalArgumentException("bad metric name " + name);
      }
      this.name = name;
      this.help = help;
      this.labelNames = labelNames.clone();
    }

    abstract String type();

    abstract void writeSamples(StringBuilder sb);

    void write(StringBuilder sb) {
      sb.append("# HELP ").append(name).append(' ').append(help.replace("\n", " ")).append('\n');
      sb.append("# TYPE ").append(name).append(' ').append(type()).append('\n');
      writeSamples(sb);
    }

    List<String> key(String... values) {
      if (values.length != labelNames.length) {
        throw new IllegalArgumentException(name + " takes labels " + Arrays.toString(labelNames));
      }
      return List.of(values);
    }

    String labels(List<String> values, String extraName, String extraValue) {
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < labelNames.length; i++) {
        parts.add(labelNames[i] + "=\"" + escape(values.get(i)) + "\"");
      }
      if (extraName != null) {
        parts.add(extraName + "=\"" + extraValue + "\"");
      }
      return parts.isEmpty() ? "" : "{" + String.join(",", parts) + "}";
    }

    static String escape(String v) {
      return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    static String num(double v) {
      if (v == Math.rint(v) && !Double.isInfinite(v) && Math.abs(v) < 1e15) {
        return Long.toString((long) v);
      }
      return Double.toString(v);
    }
  }

  /** Monotonic counter. */
  public static final class Counter extends Family {
    private final Map<List<String>, DoubleAdder> children = new ConcurrentHashMap<>();

    Counter(String name, String help, String[] labelNames) {
      super(name, help, labelNames);
    }

    public void inc(String... labelValues) {
      add(1, labelValues);
    }

    public void add(double amount, String... labelValues) {
      if (amount < 0) {
        throw new IllegalArgumentException("counters only go up");
      }
      children.computeIfAbsent(key(labelValues), k -> new DoubleAdder()).add(amount);
    }

    public double value(String... labelValues) {
      DoubleAdder a = children.get(key(labelValues));
      return a == null ? 0 : a.sum();
    }

    @Override
    String type() {
      return "counter";
    }

    @Override
    void writeSamples(StringBuilder sb) {
      children.forEach((k, v) -> sb.append(name).append(labels(k, null, null)).append(' ').append(num(v.sum())).append('\n'));
    }
  }

  /** A value that goes up and down, either set directly or read from a supplier at scrape time. */
  public static final class Gauge extends Family {
    private final Map<List<String>, DoubleSupplier> children = new ConcurrentHashMap<>();

    Gauge(String name, String help, String[] labelNames) {
      super(name, help, labelNames);
    }

    public void set(double value, String... labelValues) {
      children.put(key(labelValues), () -> value);
    }

    public void track(DoubleSupplier supplier, String... labelValues) {
      children.put(key(labelValues), supplier);
    }

    public void remove(String... labelValues) {
      children.remove(key(labelValues));
    }

    public double value(String... labelValues) {
      DoubleSupplier s = children.get(key(labelValues));
      return s == null ? Double.NaN : s.getAsDouble();
    }

    @Override
    String type() {
      return "gauge";
    }

    @Override
    void writeSamples(StringBuilder sb) {
      children.forEach((k, v) -> sb.append(name).append(labels(k, null, null)).append(' ').append(num(v.getAsDouble())).append('\n'));
    }
  }

  /** Cumulative fixed-bucket histogram. */
  public static final class Histogram extends Family {
    private final double[] bounds;
    private final Map<List<String>, Child> children = new ConcurrentHashMap<>();

    Histogram(String name, String help, double[] bounds, String[] labelNames) {
      super(name, help, labelNames);
      this.bounds = bounds.clone();
      Arrays.sort(this.bounds);
    }

    public void observe(double value, String... labelValues) {
      Child c = children.computeIfAbsent(key(labelValues), k -> new Child(bounds.length));
      for (int i = 0; i < bounds.length; i++) {
        if (value <= bounds[i]) {
          c.buckets[i].increment();
        }
      }
      c.count.increment();
      c.sum.add(value);
    }

    public long count(String... labelValues) {
      Child c = children.get(key(labelValues));
      return c == null ? 0 : c.count.sum();
    }

    @Override
    String type() {
      return "histogram";
    }

    @Override
    void writeSamples(StringBuilder sb) {
      children.forEach((k, c) -> {
        for (int i = 0; i < bounds.length; i++) {
          sb.append(name).append("_bucket").append(labels(k, "le", num(bounds[i]))).append(' ').append(c.buckets[i].sum()).append('\n');
        }
        sb.append(name).append("_bucket").append(labels(k, "le", "+Inf")).append(' ').append(c.count.sum()).append('\n');
        sb.append(name).append("_sum").append(labels(k, null, null)).append(' ').append(num(c.sum.sum())).append('\n');
        sb.append(name).append("_count").append(labels(k, null, null)).append(' ').append(c.count.sum()).append('\n');
      });
    }

    private static final class Child {
      final LongAdder[] buckets;
      final LongAdder count = new LongAdder();
      final DoubleAdder sum = new DoubleAdder();

      Child(int n) {
        buckets = new LongAdder[n];
        for (int i = 0; i < n; i++) {
          buckets[i] = new LongAdder();
        }
      }
    }
  }

  private static final class Id extends ExtensionId<Metrics> {
    static final Id INSTANCE = new Id();

    @Override
    public Metrics createExtension(ActorSystem<?> system) {
      return new Metrics();
    }
  }
}
