terraform {
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

resource "psoxy_msft_connector" "cal" {
  connectors = ["outlook-cal"]
}

# A proxy on AWS: Cognito issuer; subject = identity id; audience = identity pool id.
resource "psoxy_federated_credential" "cal_aws" {
  application_object_id = psoxy_msft_connector.cal.object_id
  name                  = "psoxy-outlook-cal-aws"
  description           = "Psoxy outlook-cal proxy on AWS"
  aws {
    identity_pool_id = "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    identity_id      = "us-east-1:11111111-2222-4333-8444-555555555555"
  }
}

# A proxy on GCP: Google issuer; subject = the service account's numeric unique id.
resource "psoxy_federated_credential" "cal_gcp" {
  application_object_id = psoxy_msft_connector.cal.object_id
  name                  = "psoxy-outlook-cal-gcp"
  gcp {
    service_account_unique_id = "112233445566778899001"
  }
}

# Any other OpenID Connect identity: issuer and subject (audience defaults to
# api://AzureADTokenExchange).
resource "psoxy_federated_credential" "cal_github" {
  application_object_id = psoxy_msft_connector.cal.object_id
  name                  = "github-psoxy-main"
  issuer                = "https://token.actions.githubusercontent.com"
  subject               = "repo:worklytics/psoxy:ref:refs/heads/main"
}
