# The change an agent proposes in the design brief: let the deployer service account edit the production
# project, create the customer-data bucket, and roll the API out in the production namespace.

resource "google_project_iam_member" "deployer_editor" {
  project = "acme-prod"
  role    = "roles/editor"
  member  = "serviceAccount:deployer@acme-prod.iam.gserviceaccount.com"
}

resource "google_storage_bucket" "customer_exports" {
  name                        = "acme-production-customer-exports"
  project                     = "acme-prod"
  location                    = "EU"
  uniform_bucket_level_access = true
  force_destroy               = true
}

resource "kubernetes_deployment" "api" {
  metadata {
    name      = "api"
    namespace = "production"
    labels = {
      app = "api"
    }
  }

  spec {
    replicas = 3

    selector {
      match_labels = {
        app = "api"
      }
    }

    template {
      metadata {
        labels = {
          app = "api"
        }
      }

      spec {
        service_account_name = "api"

        container {
          name  = "api"
          image = "europe-docker.pkg.dev/acme-prod/apps/api:2.4.1"

          port {
            container_port = 8080
          }
        }
      }
    }
  }
}
