package io.egressgateway.app;

import akka.actor.typed.ActorSystem;
import io.egressgateway.kube.infra.AzureProvisioner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The controller's Azure side. */
final class AzureWiring {
  private AzureWiring() {}

  static AzureProvisioner provisioner(ActorSystem<?> system) {
    return new AzureProvisioner() {
      @Override
      public CompletionStage<io.egressgateway.kube.model.Allocation> ensure(Request request) {
        return CompletableFuture.failedFuture(new IllegalStateException("the Azure side is not wired into this build yet"));
      }

      @Override
      public CompletionStage<Void> release(String key, String uid) {
        return CompletableFuture.failedFuture(new IllegalStateException("the Azure side is not wired into this build yet"));
      }
    };
  }
}
