# Migrating from psoxy's azuread modules: adopt the Entra ID applications and federated
# credentials that psoxy's Terraform created, without replacing anything. The proxy
# keeps its client ids, its credentials keep working, consent already granted stays.
#
#   1. In your psoxy root module, list what psoxy's modules created:
#        terraform state list | grep -E 'azuread_application\.|federated_identity_credential'
#      e.g. module.msft-connection["outlook-cal"].azuread_application.connector[0] and
#      module.msft-connection-auth-federation["outlook-cal"].azuread_application_federated_identity_credential.federated_credential
#      (the module names differ between psoxy versions). `terraform state show <address>`
#      gives each application's object id and display name, and each credential's id,
#      already in the form this provider imports: <object id>/federatedIdentityCredential/<id>.
#   2. Put them in terraform.tfvars here (see terraform.tfvars.example), keeping
#      psoxy's display names (with psoxy's trailing space) so nothing is renamed.
#   3. `terraform plan` here shows "N to import, 0 to add, ... 0 to destroy". The
#      in-place changes are the provider's own: tags recording the connectors, and a
#      service principal where psoxy left none. `terraform apply`.
#   4. Remove the old resources from the old configuration's state WITHOUT destroying
#      them (the `removed` blocks at the end of this file, or `terraform state rm`), in
#      the psoxy root module, which has the azuread provider. Then delete psoxy's
#      msft-connection modules from that configuration.
#
# Never run `terraform destroy` or apply a plan that destroys the azuread resources in
# the old configuration: it would delete the applications this one now manages.
# docs/guides/migrate-from-azuread.md has the details. Provider settings come from the
# environment; see ../quickstart/main.tf.

terraform {
  # `for_each` in `import` blocks needs Terraform 1.7.
  required_version = ">= 1.7"
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

provider "psoxy" {}

variable "environment_id" {
  description = "psoxy's environment_id (default \"psoxy\"): part of the names psoxy gave its applications and AWS credentials."
  type        = string
  default     = "psoxy"
}

variable "connectors" {
  description = <<-EOT
    Connector id => what psoxy's modules created for it:
    application_id: the application's object id (or client id);
    display_name: its current name; left out, psoxy's naming is assumed,
      "Psoxy Connector - <connector name> <environment_id> " (trailing space included);
      set it to the new name you want to rename the application in place;
    aws_credential / gcp_credential: its federated credential, if any: the identity it
      trusts, and its name (psoxy's default "<environment_id>AccessFromAWS" /
      "GcpFederation") or its credential id, and its description (left out, the
      description is cleared).
  EOT
  type = map(object({
    application_id = string
    display_name   = optional(string)
    aws_credential = optional(object({
      identity_id   = string
      name          = optional(string)
      credential_id = optional(string)
      description   = optional(string)
    }))
    gcp_credential = optional(object({
      service_account_unique_id = string
      name                      = optional(string)
      credential_id             = optional(string)
      description               = optional(string)
    }))
  }))
}

variable "aws_identity_pool_id" {
  description = "The Cognito identity pool id psoxy's AWS credentials use as audience (needed when any connector has an aws_credential)."
  type        = string
  default     = null
}

# The catalog, for psoxy's connector names (no sign-in needed).
data "psoxy_msft_connector_specs" "all" {}

locals {
  connector_names = { for c in data.psoxy_msft_connector_specs.all.connectors : c.id => c.display_name }

  aws_credentials = {
    for id, c in var.connectors : id => merge(c.aws_credential, {
      name = coalesce(c.aws_credential.name, "${var.environment_id}AccessFromAWS")
    }) if c.aws_credential != null
  }
  gcp_credentials = {
    for id, c in var.connectors : id => merge(c.gcp_credential, {
      name = coalesce(c.gcp_credential.name, "GcpFederation")
    }) if c.gcp_credential != null
  }
}

# --- Adopt the applications (by object id or client id) ---------------------------

import {
  for_each = var.connectors
  to       = psoxy_msft_connector.connector[each.key]
  id       = each.value.application_id
}

resource "psoxy_msft_connector" "connector" {
  for_each   = var.connectors
  connectors = [each.key]
  # psoxy's own name, so the import renames nothing.
  display_name = coalesce(
    each.value.display_name,
    "Psoxy Connector - ${lookup(local.connector_names, each.key, each.key)} ${var.environment_id} "
  )
}

# --- Adopt the federated credentials ------------------------------------------------
# Import id: <application object id>/federatedIdentityCredential/<credential id> (the
# azuread provider's id) or <application object id>/<credential name>.

import {
  for_each = local.aws_credentials
  to       = psoxy_federated_credential.aws[each.key]
  id = (each.value.credential_id != null
    ? "${var.connectors[each.key].application_id}/federatedIdentityCredential/${each.value.credential_id}"
  : "${var.connectors[each.key].application_id}/${each.value.name}")
}

resource "psoxy_federated_credential" "aws" {
  for_each              = local.aws_credentials
  application_object_id = psoxy_msft_connector.connector[each.key].object_id
  name                  = each.value.name
  description           = each.value.description
  aws {
    identity_pool_id = var.aws_identity_pool_id
    identity_id      = each.value.identity_id
  }
}

import {
  for_each = local.gcp_credentials
  to       = psoxy_federated_credential.gcp[each.key]
  id = (each.value.credential_id != null
    ? "${var.connectors[each.key].application_id}/federatedIdentityCredential/${each.value.credential_id}"
  : "${var.connectors[each.key].application_id}/${each.value.name}")
}

resource "psoxy_federated_credential" "gcp" {
  for_each              = local.gcp_credentials
  application_object_id = psoxy_msft_connector.connector[each.key].object_id
  name                  = each.value.name
  description           = each.value.description
  gcp {
    service_account_unique_id = each.value.service_account_unique_id
  }
}

output "client_ids" {
  description = "Connector id => client id: unchanged, so the proxy's configuration stays as it is."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.client_id }
}

output "consent_granted" {
  description = "Connector id => whether admin consent is granted (consent given under psoxy stays)."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.consent_granted }
}

# --- Step 4, in the OLD (psoxy) root module, not here --------------------------------
# These blocks need the azuread provider, so they cannot run in this configuration.
# Copy them into the psoxy root module (Terraform 1.7+), adjust the addresses to what
# `terraform state list` showed there, delete the msft-connection module blocks, and
# run `terraform plan` there: it must say "will no longer be managed by Terraform" for
# each, and "0 to destroy" for them. `destroy = false` is what keeps the applications.
#
# removed {
#   from = module.msft-connection
#   lifecycle {
#     destroy = false
#   }
# }
#
# removed {
#   from = module.msft-connection-auth-federation
#   lifecycle {
#     destroy = false
#   }
# }
#
# On Terraform older than 1.7, instead (one command per address; quote the brackets):
#   terraform state rm 'module.msft-connection["outlook-cal"].azuread_application.connector[0]'
#   terraform state rm 'module.msft-connection-auth-federation["outlook-cal"].azuread_application_federated_identity_credential.federated_credential'
