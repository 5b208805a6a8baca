terraform {
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

# One application per connector, as psoxy does by default.
resource "psoxy_msft_connector" "outlook_cal" {
  connectors = ["outlook-cal"]
}

# One application for several connectors, with an extra owner and a custom name.
resource "psoxy_msft_connector" "shared" {
  connectors   = ["outlook-mail", "msft-teams"]
  display_name = "Psoxy - Outlook Mail and Teams"
  owners       = ["00000000-0000-4000-8000-00000000b002"]
}

# The document for the Privileged Role Administrator who grants admin consent.
output "consent_instructions" {
  value = psoxy_msft_connector.outlook_cal.consent_instructions
}
