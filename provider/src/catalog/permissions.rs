//! Microsoft Graph *application* permissions (app roles) that Psoxy connectors
//! request, with the appRole ids from Microsoft's "All permissions and IDs"
//! table (Application column). Delegated ids for the same names differ and must
//! never appear here: a delegated id in `requiredResourceAccess` with
//! `type = Role` is rejected or, worse, silently grants nothing.

/// appId of the Microsoft Graph resource application (the same in every cloud).
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// One Graph application permission.
#[derive(Debug, PartialEq, Eq)]
pub struct Permission {
    /// The appRole `value`, e.g. `User.Read.All`.
    pub name: &'static str,
    /// The appRole id on the Microsoft Graph service principal.
    pub app_role_id: &'static str,
    /// Why Psoxy needs it.
    pub why: &'static str,
    /// What the permission opens, tenant-wide, stated plainly. This is what the
    /// consenting administrator is really agreeing to, whatever the proxy's
    /// rules later strip.
    pub data_opened: &'static str,
    /// Listed for reference (error messages, docs); no connector requests it.
    pub reference_only: bool,
}

impl Permission {
    /// Permission type as the Entra admin center shows it.
    pub const KIND: &'static str = "Application";
    /// The `type` of the entry in `requiredResourceAccess.resourceAccess`.
    pub const RESOURCE_ACCESS_TYPE: &'static str = "Role";
}

pub static USER_READ_ALL: Permission = Permission {
    name: "User.Read.All",
    app_role_id: "df021288-bdef-4463-88db-98f22de89214",
    why: "List the organization's users, so that the proxy can enumerate the mailboxes, \
          drives and accounts to read and map activity to (pseudonymized) people.",
    data_opened: "The full profile of every user in the tenant: names, email addresses, \
                  job title, department, manager, office location and account status. \
                  No mail, calendar, file or chat content.",
    reference_only: false,
};

pub static GROUP_READ_ALL: Permission = Permission {
    name: "Group.Read.All",
    app_role_id: "5b567255-7703-4780-807c-7be8301ae99b",
    why: "List groups and their members, so that mail and meeting recipients that are \
          distribution lists or Microsoft 365 groups can be expanded to people.",
    data_opened: "Properties and memberships of every group in the tenant. For Microsoft 365 \
                  groups it also allows reading the group conversations (posts), which the \
                  proxy does not call.",
    reference_only: false,
};

pub static GROUP_MEMBER_READ_ALL: Permission = Permission {
    name: "GroupMember.Read.All",
    app_role_id: "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    why: "Not requested by any Psoxy connector; listed for reference.",
    data_opened: "Basic properties and memberships of every group in the tenant.",
    reference_only: true,
};

pub static MAILBOX_SETTINGS_READ: Permission = Permission {
    name: "MailboxSettings.Read",
    app_role_id: "40f97065-369a-49f4-947c-6a255697ae91",
    why: "Read each user's time zone and working hours, so that activity is measured \
          against the person's own working day, and tell shared or room mailboxes apart \
          from people.",
    data_opened: "Every user's mailbox settings: time zone, working hours, language and \
                  date formats, mailbox purpose, and the automatic-reply (out of office) \
                  configuration including its message text. No messages or events.",
    reference_only: false,
};

pub static CALENDARS_READ: Permission = Permission {
    name: "Calendars.Read",
    app_role_id: "798ee544-9d2d-430c-a058-570e29e34338",
    why: "Read calendar events to measure meeting time and who meets with whom; the \
          proxy pseudonymizes attendees and drops event bodies before anything leaves \
          your cloud.",
    data_opened: "All events in every calendar of every mailbox in the tenant, including \
                  subjects, times, organizer, attendees and their responses, locations, \
                  online-meeting links and the event body.",
    reference_only: false,
};

pub static MAIL_READ_BASIC_ALL: Permission = Permission {
    name: "Mail.ReadBasic.All",
    app_role_id: "693c5e45-0940-467d-9b8a-1022fb9d42ef",
    why: "Read sent-mail metadata (who wrote to whom, and when) to measure email \
          collaboration; the proxy pseudonymizes addresses.",
    data_opened: "Message metadata in every mailbox in the tenant: sender, recipients, \
                  subject, dates and flags. Never message bodies, body previews or \
                  attachments.",
    reference_only: false,
};

pub static FILES_READ_ALL: Permission = Permission {
    name: "Files.Read.All",
    app_role_id: "01d4889c-1287-42c6-ac1f-5d1e02578ef6",
    why: "List drives, their changes (delta) and file activity to measure document \
          collaboration; the proxy reads metadata, not file contents.",
    data_opened: "Every file in every OneDrive and SharePoint document library in the \
                  tenant: names, paths, sharing, activity and, through the same \
                  permission, the file contents themselves.",
    reference_only: false,
};

pub static TEAM_READ_BASIC_ALL: Permission = Permission {
    name: "Team.ReadBasic.All",
    app_role_id: "2280dda6-0bfd-44ee-a2f4-cb867cfc4c1e",
    why: "List the organization's teams, to find their channels.",
    data_opened: "Names, descriptions and basic settings of every team in the tenant.",
    reference_only: false,
};

pub static CHANNEL_READ_BASIC_ALL: Permission = Permission {
    name: "Channel.ReadBasic.All",
    app_role_id: "59a6b24b-4225-4393-8165-ebaec5f55d7a",
    why: "List each team's channels, to read their message activity.",
    data_opened: "Names and descriptions of every channel in every team.",
    reference_only: false,
};

pub static CHAT_READ_ALL: Permission = Permission {
    name: "Chat.Read.All",
    app_role_id: "6b7d71aa-70aa-4810-a8d9-5d9fb2830017",
    why: "Read who messaged whom in 1:1 and group chats, and when; the proxy drops \
          message content and pseudonymizes people.",
    data_opened: "Every 1:1 and group chat in the tenant with all its messages, including \
                  message content.",
    reference_only: false,
};

pub static CHANNEL_MESSAGE_READ_ALL: Permission = Permission {
    name: "ChannelMessage.Read.All",
    app_role_id: "7b2449af-6ccd-4f4d-9f78-e550c193f0d1",
    why: "Read who posted and replied in team channels, and when; the proxy drops \
          message content and pseudonymizes people.",
    data_opened: "Every message and reply in every channel of every team, including \
                  message content.",
    reference_only: false,
};

pub static CALL_RECORDS_READ_ALL: Permission = Permission {
    name: "CallRecords.Read.All",
    app_role_id: "45bbb07e-7321-4fd7-a8f6-3ff27e6a81c8",
    why: "Read call and meeting records to measure time spent in Teams calls and \
          meetings, and with whom.",
    data_opened: "Records of every Teams call and online meeting in the tenant: \
                  participants, start and end times, devices and network quality. No \
                  audio, video or transcripts.",
    reference_only: false,
};

pub static ONLINE_MEETINGS_READ_ALL: Permission = Permission {
    name: "OnlineMeetings.Read.All",
    app_role_id: "c1684f21-1984-47fa-9d61-2dc8c296bb70",
    why: "Read online meeting details to relate calls to scheduled meetings. Works only \
          for users covered by a Teams application access policy (see the Teams step).",
    data_opened: "Details of online meetings organized by users covered by the Teams \
                  application access policy: subject, times, participants, join links and \
                  meeting settings.",
    reference_only: false,
};

pub static ONLINE_MEETING_ARTIFACT_READ_ALL: Permission = Permission {
    name: "OnlineMeetingArtifact.Read.All",
    app_role_id: "df01ed3b-eb61-4eca-9965-6b3d789751b2",
    why: "Read meeting attendance reports to measure who actually attended and for how \
          long. Also gated by the Teams application access policy.",
    data_opened: "Artifacts of online meetings organized by users covered by the Teams \
                  application access policy, chiefly attendance reports (who joined, \
                  when, for how long). Transcripts and recordings need other permissions, \
                  which are not requested.",
    reference_only: false,
};

pub static AI_ENTERPRISE_INTERACTION_READ_ALL: Permission = Permission {
    name: "AiEnterpriseInteraction.Read.All",
    app_role_id: "839c90ab-5771-41ee-aef8-a562e8487c1e",
    why: "Read Microsoft 365 Copilot interaction history to measure Copilot adoption \
          (who uses it, when and in which app); the proxy drops prompt and response text.",
    data_opened: "Every user's interactions with Microsoft 365 Copilot: the prompts users \
                  type, Copilot's responses, timestamps, the app used and the resources \
                  Copilot referenced.",
    reference_only: false,
};

pub static DIRECTORY_READ_ALL: Permission = Permission {
    name: "Directory.Read.All",
    app_role_id: "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    why: "Not requested by any Psoxy connector; listed for reference (psoxy's own \
          modules mislabel this id as the Cloud Application Administrator role).",
    data_opened: "All directory data: users, groups, applications, devices and \
                  organization settings.",
    reference_only: true,
};

static ALL: [&Permission; 16] = [
    &USER_READ_ALL,
    &GROUP_READ_ALL,
    &GROUP_MEMBER_READ_ALL,
    &MAILBOX_SETTINGS_READ,
    &CALENDARS_READ,
    &MAIL_READ_BASIC_ALL,
    &FILES_READ_ALL,
    &TEAM_READ_BASIC_ALL,
    &CHANNEL_READ_BASIC_ALL,
    &CHAT_READ_ALL,
    &CHANNEL_MESSAGE_READ_ALL,
    &CALL_RECORDS_READ_ALL,
    &ONLINE_MEETINGS_READ_ALL,
    &ONLINE_MEETING_ARTIFACT_READ_ALL,
    &AI_ENTERPRISE_INTERACTION_READ_ALL,
    &DIRECTORY_READ_ALL,
];

/// Every Graph application permission this provider knows, in the reference's order.
pub fn permissions() -> &'static [&'static Permission] {
    &ALL
}

/// Look a permission up by its exact appRole value (Graph's values are case-sensitive).
pub fn permission(name: &str) -> Option<&'static Permission> {
    ALL.iter().copied().find(|p| p.name == name)
}

/// Reverse lookup, for turning a service principal's appRoleAssignments back into names.
pub fn permission_by_app_role_id(app_role_id: &str) -> Option<&'static Permission> {
    ALL.iter()
        .copied()
        .find(|p| p.app_role_id.eq_ignore_ascii_case(app_role_id))
}

/// An Entra ID built-in directory role, named in documents and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryRole {
    pub name: &'static str,
    pub template_id: &'static str,
}

/// Needed to create applications (first apply only; owners manage their apps after).
pub const CLOUD_APPLICATION_ADMINISTRATOR: DirectoryRole = DirectoryRole {
    name: "Cloud Application Administrator",
    template_id: "158c047a-c907-4556-b7ef-446551a6b5f7",
};

/// Needed to grant admin consent to Graph application permissions.
pub const PRIVILEGED_ROLE_ADMINISTRATOR: DirectoryRole = DirectoryRole {
    name: "Privileged Role Administrator",
    template_id: "e8611ab8-c189-46e8-94e1-60213ab1f814",
};

/// Needed for the Teams application access policy.
pub const TEAMS_ADMINISTRATOR: DirectoryRole = DirectoryRole {
    name: "Teams Administrator",
    template_id: "69091246-20e8-4a56-aa4d-066075b2a7a8",
};
