terraform {
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

# The connector catalog: permissions, Graph endpoints and extra admin steps, with no
# sign-in needed.
data "psoxy_msft_connector_specs" "selected" {
  ids = ["outlook-cal", "msft-teams"]
}

output "required_app_roles" {
  description = "Union of the connectors' Graph application permissions: name => appRole id."
  value       = data.psoxy_msft_connector_specs.selected.required_app_roles
}

output "connector_names" {
  value = [for c in data.psoxy_msft_connector_specs.selected.connectors : c.display_name]
}
