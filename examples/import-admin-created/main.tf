# Adopting applications an administrator created: psoxy's path for teams whose
# Terraform identity may not hold Cloud Application Administrator.
#
#   1. Someone with Cloud Application Administrator creates one application per
#      connector in the Entra admin center (any name) and adds the Terraform identity
#      (your user, or the pipeline's service principal) as an owner.
#   2. You list those applications below, by object id or client id: the provider
#      accepts either and says which it found.
#   3. `terraform apply` imports them (the `import` blocks) and brings them to what the
#      connectors need: name, permissions, service principal. As an owner, you need no
#      admin role for this or for any later change, including the federated credentials.
#   4. A Privileged Role Administrator grants consent, following `consent_documents`.
#
# Once imported, the `import` blocks may stay (they do nothing more) or be removed.
# Provider settings come from the environment; see ../quickstart/main.tf.

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

variable "existing_applications" {
  description = "Connector id => object id or client id of the application an administrator created for it (with you as an owner)."
  type        = map(string)
}

variable "service_account_unique_ids" {
  description = "Connector id => numeric unique id of the GCP service account its proxy runs as. Leave a connector out to add no credential for it."
  type        = map(string)
  default     = {}
}

import {
  for_each = var.existing_applications
  to       = psoxy_msft_connector.connector[each.key]
  id       = each.value
}

resource "psoxy_msft_connector" "connector" {
  for_each   = var.existing_applications
  connectors = [each.key]
}

resource "psoxy_federated_credential" "gcp" {
  for_each = {
    for id, unique_id in var.service_account_unique_ids : id => unique_id
    if contains(keys(var.existing_applications), id)
  }

  application_object_id = psoxy_msft_connector.connector[each.key].object_id
  name                  = "psoxy-${each.key}-gcp"
  gcp {
    service_account_unique_id = each.value
  }
}

output "consent_documents" {
  description = "Connector id => the document for the administrator who grants consent."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.consent_instructions }
}

output "object_ids" {
  description = "Connector id => the application's object id (whichever id was given)."
  value       = { for id, c in psoxy_msft_connector.connector : id => c.object_id }
}
