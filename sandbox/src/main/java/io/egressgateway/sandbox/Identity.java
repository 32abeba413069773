package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Per-role identity in a legitimate run (docs/security.md): every member signs with the certificate of its own
 * role and enforces roles, and nothing is refused or downed. Read from two places: the members' /metrics now
 * ({@code egress_refused_messages_total}, {@code egress_refused_members_total}, which start at 0 with each
 * container), and the output of every member container of this run, running or stopped since (its {@code member
 * signs as ...} line at start, and every {@code refused ...} and {@code downing member ...} line). The report's
 * {@code identity} key holds what each container showed and the counts; messages a starting gateway dropped
 * before it could check them ({@code egress_unchecked_messages_total}) are counted apart and fail nothing.
 */
final class Identity {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A member container's output file as the node runtimes keep it: namespace_pod_container[.instance].log. */
  private static final Pattern MEMBER_LOG = Pattern.compile(
      Pattern.quote(Release.NAMESPACE) + "_(.+)_(controller|gateway|worker)(\\.\\d+)?\\.log");
  private static final Pattern SIGNS_AS = Pattern.compile(
      "member signs as Principal\\[roles=\\[([^\\]]*)\\], node=([^,]*), subject=([^\\]]*)\\] \\(enforce = (true|false)\\)");
  private static final Pattern REFUSED = Pattern.compile(" - refused \\S+ from ");
  private static final Pattern DOWNING = Pattern.compile(" - downing member ");
  /** Dropped before the member could check it (a starting gateway's Node cache not listed yet): no refusal. */
  private static final Pattern UNCHECKED = Pattern.compile(" - dropped \\S+ from .* unchecked: ");
  private static final int SAMPLES = 10;

  private Identity() {}

  /** One container's output: what it signed as, and its refusal and downing lines since {@code since}. */
  record Container(String name, String role, String signedAs, String enforce, List<String> refused, List<String> downed,
      int unchecked) {}

  /**
   * Checks the members of {@code release} and the containers whose output {@code logsDir} kept since {@code since}
   * (and those running now); {@code when} says which point of the run, for the console.
   */
  static ObjectNode check(Release release, Path logsDir, Instant since, String when, PrintStream out) {
    List<Container> containers = new ArrayList<>();
    Path tmp;
    try {
      tmp = Files.createTempDirectory("identity-logs");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      try (var files = Files.list(logsDir)) {
        for (Path f : files.sorted().toList()) {
          Matcher m = MEMBER_LOG.matcher(f.getFileName().toString());
          if (m.matches() && Files.getLastModifiedTime(f).toInstant().isAfter(since)) {
            containers.add(read(f, m.group(1) + "/" + m.group(2) + (m.group(3) == null ? "" : m.group(3)), m.group(2), since));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (Release.Member m : release.members()) {
        Path f = tmp.resolve(m.name() + ".log");
        if (release.saveLogs(m, f)) {
          containers.add(read(f, m.name() + "/" + m.role() + " (running)", m.role(), since));
        }
      }
    } finally {
      try (var files = Files.list(tmp)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        out.println("identity: could not remove " + tmp + ": " + e.getMessage());
      }
    }
    // the members' counters now
    long refusedMessages = 0;
    long refusedMembers = 0;
    long unchecked = 0;
    int scraped = 0;
    int members = 0;
    for (Release.Member m : release.members()) {
      members++;
      String text = release.management(m, "metrics");
      // a counter shows only once counted: a scrape is known good by a series every member has
      if (text.contains("\negress_cluster_members{")) {
        scraped++;
      }
      refusedMessages += DemoChecks.metricSum(text, "egress_refused_messages_total");
      refusedMembers += DemoChecks.metricSum(text, "egress_refused_members_total");
      unchecked += DemoChecks.metricSum(text, "egress_unchecked_messages_total");
    }
    ObjectNode r = report(containers, members, scraped, refusedMessages, refusedMembers, when, out);
    r.put("uncheckedMessagesTotal", unchecked);
    return r;
  }

  /** The verdict over what the containers showed and the members' counters. */
  static ObjectNode report(List<Container> containers, int members, int scraped, long refusedMessages, long refusedMembers,
      String when, PrintStream out) {
    ObjectNode r = JSON.createObjectNode();
    ArrayNode list = r.putArray("containers");
    Map<String, Integer> enforcedPerRole = new LinkedHashMap<>();
    List<String> wrong = new ArrayList<>();
    List<String> refusedLines = new ArrayList<>();
    List<String> downedLines = new ArrayList<>();
    for (Container c : containers) {
      list.addObject().put("name", c.name()).put("role", c.role()).put("signedAs", c.signedAs()).put("enforce", c.enforce())
          .put("refused", c.refused().size()).put("downed", c.downed().size()).put("unchecked", c.unchecked());
      if (c.signedAs() != null) {
        if (c.signedAs().equals(c.role()) && "true".equals(c.enforce())) {
          enforcedPerRole.merge(c.role(), 1, Integer::sum);
        } else {
          wrong.add(c.name() + " signs as [" + c.signedAs() + "] with enforce = " + c.enforce());
        }
      }
      refusedLines.addAll(c.refused());
      downedLines.addAll(c.downed());
    }
    boolean everyRole = Release.ROLES.stream().allMatch(role -> enforcedPerRole.getOrDefault(role, 0) > 0);
    boolean ok = everyRole && wrong.isEmpty() && refusedLines.isEmpty() && downedLines.isEmpty() && members > 0
        && scraped == members && refusedMessages == 0 && refusedMembers == 0;
    r.put("when", when);
    r.set("containersEnforcing", JSON.valueToTree(enforcedPerRole));
    r.set("wrongIdentity", JSON.valueToTree(wrong));
    r.put("refusedLogLines", refusedLines.size()).put("downedLogLines", downedLines.size())
        .put("uncheckedLogLines", containers.stream().mapToInt(Container::unchecked).sum())
        .put("members", members).put("membersScraped", scraped)
        .put("refusedMessagesTotal", refusedMessages).put("refusedMembersTotal", refusedMembers);
    ArrayNode samples = r.putArray("samples");
    refusedLines.stream().limit(SAMPLES).forEach(samples::add);
    downedLines.stream().limit(SAMPLES).forEach(samples::add);
    r.put("ok", ok);
    out.println("identity (" + when + "): " + (ok ? "ok" : "FAILED") + ": " + containers.size() + " member containers, enforcing "
        + enforcedPerRole + (wrong.isEmpty() ? "" : ", wrong " + wrong) + "; " + refusedLines.size() + " refusal and "
        + downedLines.size() + " downing log lines; /metrics of " + scraped + "/" + members + " members: "
        + refusedMessages + " messages and " + refusedMembers + " members refused");
    return r;
  }

  /** One container's output file. */
  static Container read(Path f, String name, String role, Instant since) {
    String signedAs = null;
    String enforce = null;
    List<String> refused = new ArrayList<>();
    List<String> downed = new ArrayList<>();
    int unchecked = 0;
    List<String> lines;
    try {
      lines = Files.readAllLines(f, java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      // a partly written or non-UTF-8 file: read what decodes
      try {
        lines = new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.UTF_8).lines().toList();
      } catch (IOException e2) {
        throw new UncheckedIOException(e2);
      }
    }
    for (String line : lines) {
      if (before(line, since)) {
        continue;
      }
      Matcher s = SIGNS_AS.matcher(line);
      if (s.find()) {
        signedAs = s.group(1).replace(" ", "");
        enforce = s.group(4);
      } else if (REFUSED.matcher(line).find()) {
        refused.add(name + ": " + line);
      } else if (DOWNING.matcher(line).find()) {
        downed.add(name + ": " + line);
      } else if (UNCHECKED.matcher(line).find()) {
        unchecked++;
      }
    }
    return new Container(name, role, signedAs, enforce, refused, downed, unchecked);
  }

  /** Whether a log line starts with a timestamp before {@code since} (lines without one are kept). */
  private static boolean before(String line, Instant since) {
    int space = line.indexOf(' ');
    if (space < 20 || !Character.isDigit(line.charAt(0))) {
      return false;
    }
    try {
      return Instant.parse(line.substring(0, space)).isBefore(since);
    } catch (java.time.format.DateTimeParseException e) {
      return false;
    }
  }
}
